"""A member's own data, on the profile: "download my data" and "delete my account".

What the archive holds and what deletion does to each table is members.personal_data's
registry (each app's rules); this module is the flow around it: the download's rate limit
and size cap, the deletion request (password, or a fresh re-authentication for accounts
without one), the signed, expiring link e-mailed to the member, the final step, and the
e-mails. The two e-mails go straight to the mail server, not through the outbox: the
link is a credential the outbox would keep in its rows, and the last one goes to an address
the forum no longer holds once the account is gone."""

import datetime
import logging

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from members.personal_data import (
    PersonalDataError,
    erasure_refusal,
    personal_data_archive,
    personal_data_erase,
)
from topicshare.core.links import absolute_url
from topicshare.forum.models import AccountDeletion

logger = logging.getLogger(__name__)

_SALT = "forum.account-deletion"
_EXPORT_KEY = "forum:data-export:{pk}"


def _language_of(user) -> str:
    languages = {code for code, _name in settings.LANGUAGES}
    language = user.preferred_language
    return language if language in languages else settings.LANGUAGE_CODE


def data_export_make(*, user, now: datetime.datetime) -> tuple[bytes, str]:
    """The member's archive and its file name. Once per TOPICSHARE_DATA_EXPORT_EVERY_SECONDS
    (counted in the shared cache, so every web process sees it) and at most
    TOPICSHARE_DATA_EXPORT_MAX_MB of files; PersonalDataError otherwise, with the reason."""
    every = settings.TOPICSHARE_DATA_EXPORT_EVERY_SECONDS
    key = _EXPORT_KEY.format(pk=user.pk)
    if not cache.add(key, now.timestamp(), every):
        since = cache.get(key)
        since = since if isinstance(since, float) else now.timestamp()
        again = datetime.datetime.fromtimestamp(since + every, tz=datetime.UTC)
        raise PersonalDataError(
            _("You downloaded your data a moment ago. You can download it again from %(time)s.")
            % {"time": f"{timezone.localtime(again):%H:%M}"}
        )
    try:
        archive = personal_data_archive(
            user=user, max_bytes=settings.TOPICSHARE_DATA_EXPORT_MAX_MB * 2**20
        )
    except PersonalDataError:
        cache.delete(key)  # nothing was downloaded: no reason to wait
        raise
    return archive, f"topicshare-my-data-{timezone.localtime(now):%Y%m%d-%H%M}.zip"


def deletion_open(*, user) -> AccountDeletion | None:
    return AccountDeletion.objects.filter(user=user, done_at__isnull=True).first()


def _token(deletion: AccountDeletion) -> str:
    # The request's time in the token: asking again makes the links sent before useless.
    return signing.dumps(
        {"d": deletion.pk, "t": deletion.requested_at.timestamp()}, salt=_SALT, compress=True
    )


@transaction.atomic
def deletion_request(*, user, password: str | None, now: datetime.datetime) -> AccountDeletion:
    """Ask for the account's deletion: check the password (None: the caller made sure the
    account has none and was re-authenticated just now), record the request and e-mail the
    confirmation link. Asking again sends a new link; the old one stops working.
    PersonalDataError with the reason (a wrong password, the last organiser, a mail server
    that refused: then nothing is recorded)."""
    if password is not None and not user.check_password(password):
        raise PersonalDataError(_("That is not your password."))
    refusal = erasure_refusal(user)
    if refusal:
        raise PersonalDataError(refusal)
    deletion = AccountDeletion.objects.select_for_update().filter(
        user=user, done_at__isnull=True
    ).first() or AccountDeletion(user=user)
    deletion.requested_at = now
    deletion.save()
    link = absolute_url(reverse("account-delete-confirm", args=[_token(deletion)]))
    hours = settings.TOPICSHARE_ACCOUNT_DELETION_LINK_HOURS
    with translation.override(_language_of(user)):
        message = EmailMessage(
            subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX
            + _("Confirm the deletion of your account"),
            body=_(
                "Hello %(name)s,\n\n"
                "someone — you, we hope — asked to delete your TopicShare account. To go on, "
                "open this link within %(hours)d hours and confirm once more:\n\n%(link)s\n\n"
                "If you did not ask for this, ignore this e-mail: nothing happens, and you may "
                "want to change your password."
            )
            % {"name": user.name, "hours": hours, "link": link},
            to=[user.email],
            headers={"Auto-Submitted": "auto-generated"},
        )
    try:
        message.send()
    except Exception as error:  # the mail server: say so, record nothing
        logger.warning("account deletion link not sent to user %s: %s", user.pk, error)
        raise PersonalDataError(
            _("The e-mail with the link could not be sent. Nothing changed; try again later.")
        ) from None
    return deletion


def deletion_read(token: str) -> AccountDeletion:
    """The open request a link confirms; PersonalDataError saying what is wrong with it."""
    try:
        data = signing.loads(
            token, salt=_SALT, max_age=settings.TOPICSHARE_ACCOUNT_DELETION_LINK_HOURS * 3600
        )
    except signing.SignatureExpired:
        raise PersonalDataError(
            _("This link has expired. Ask for the deletion again on your profile page.")
        ) from None
    except signing.BadSignature:
        raise PersonalDataError(
            _("This link is not valid. Use the link from the most recent e-mail, whole.")
        ) from None
    if not isinstance(data, dict):
        raise PersonalDataError(_("This link is not valid."))
    deletion = AccountDeletion.objects.select_related("user").filter(pk=data.get("d")).first()
    if deletion is None:
        raise PersonalDataError(_("This link is not valid."))
    if deletion.done_at is not None:
        raise PersonalDataError(_("This account is already deleted."))
    if abs(deletion.requested_at.timestamp() - float(data.get("t", 0))) > 0.001:
        raise PersonalDataError(
            _("A newer link was sent since this one. Use the link from the most recent e-mail.")
        )
    return deletion


@transaction.atomic
def deletion_confirm(*, deletion: AccountDeletion, now: datetime.datetime) -> AccountDeletion:
    """Delete the account now (members.personal_data.personal_data_erase) and, after the
    commit, tell the address it had. PersonalDataError if it cannot be done (already done,
    the last organiser)."""
    deletion = AccountDeletion.objects.select_for_update().get(pk=deletion.pk)
    if deletion.done_at is not None:
        raise PersonalDataError(_("This account is already deleted."))
    user = deletion.user
    language, name = _language_of(user), user.name
    address = personal_data_erase(user=user, now=now)
    deletion.confirmed_at = deletion.done_at = now
    deletion.save(update_fields=["confirmed_at", "done_at"])
    transaction.on_commit(lambda: _goodbye_send(address=address, name=name, language=language))
    return deletion


def _goodbye_send(*, address: str, name: str, language: str) -> None:
    """The last e-mail: sent once (the address is not kept anywhere to retry it)."""
    with translation.override(language):
        message = EmailMessage(
            subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + _("Your account is deleted"),
            body=_(
                "Hello %(name)s,\n\n"
                "your TopicShare account is deleted, as you asked. Your name, e-mail "
                "addresses, WeChat ID, sign-in, tokens, preferences and places in groups and "
                "sessions to come are gone. What the forum keeps — talks you presented, past "
                "attendance, the records of decisions — now shows as a former member, without "
                "your name.\n\nThis is the last e-mail you get from us."
            )
            % {"name": name},
            to=[address],
            headers={"Auto-Submitted": "auto-generated"},
        )
    try:
        message.send()
    except Exception as error:
        logger.warning("the account deleted e-mail could not be sent: %s", error)

"""A member's own data: the copy they may download and the erasure they may ask for (China's
PIPL art. 45 and 47: a copy of, and the deletion of, what the service holds about them).

One registry, one home per rule. Every foreign key to the user model in the project is
covered by exactly one `PersonalData` rule (tests/members/test_personal_data.py walks the
model graph, so a new foreign key without a rule fails the suite). A rule says, for its
rows:

- `export(user)`: the rows as JSON-able dicts with readable keys (datetimes in ISO 8601, in
  Asia/Shanghai) — the member's own data only: never another member's e-mail address, never
  another member's ballot, nothing that tells who voted what on the member's application;
- `files(user)`: the files the member uploaded, as (name in the archive, stored file);
- `erase(erasure)`: what happens to the rows when the account is deleted — deleted, emptied,
  or (`erase=None`) kept as they are: kept rows keep pointing at the same user row, which
  `personal_data_erase` turns into a neutral "Former member N" at the end.

Each app registers its own rules from its AppConfig.ready (members may not import the apps
above it): sessions/personal_data.py, library/personal_data.py,
members/ledger/personal_data.py, topicshare/forum/personal_data.py. The rules of members and
of the apps below it (the outbox, Django's and allauth's) are at the end of this module."""

import datetime
import io
import json
import logging
import re
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import models, transaction
from django.db.models.fields.files import FieldFile
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from members.models import DELETED_EMAIL_DOMAIN, neutral_name_of

logger = logging.getLogger(__name__)

ARCHIVE_FORMAT = "topicshare-personal-data"
ARCHIVE_VERSION = 1


class PersonalDataError(Exception):
    """Refused, with a message for the member (an archive too large, the last organiser)."""


@dataclass
class Erasure:
    """What an eraser needs: the account (not yet pseudonymised), the strings that name the
    person (to remove copies of them from texts), and files to delete once committed."""

    user: models.Model
    now: datetime.datetime
    old_name: str
    old_strings: list[str]  # display name, e-mail addresses, WeChat ID: what names the person
    files_to_delete: list[FieldFile] = field(default_factory=list)

    @property
    def neutral_name(self) -> str:
        with translation.override(settings.LANGUAGE_CODE):
            return neutral_name_of(self.user.pk)

    def scrub(self, text: str) -> str:
        """`text` with every string that names the person replaced by the neutral name (in
        any case: an address typed with capitals is the same address)."""
        for old in self.old_strings:
            if old and old.lower() in text.lower():
                text = re.sub(
                    re.escape(old), lambda _match: self.neutral_name, text, flags=re.IGNORECASE
                )
        return text

    def scrub_rows(self, queryset: models.QuerySet, fields: Iterable[str] | None = None) -> int:
        """The kept rows of `queryset` (the person's own proposals, talks, tasks) with every
        string that names the person in their texts replaced by the neutral name: a summary
        that gives their address, a title with their name, the HTML rendered from them.
        `fields`: by default every text field without choices. Returns the rows changed."""
        model = queryset.model
        if fields is None:
            fields = [
                f.name for f in model._meta.concrete_fields
                if isinstance(f, models.CharField | models.TextField) and not f.choices
            ]  # fmt: skip
        fields = list(fields)
        if not self.old_strings or not fields:
            return 0
        naming = models.Q(
            *[
                models.Q(**{f"{name}__icontains": old})
                for name in fields
                for old in self.old_strings
            ],
            _connector=models.Q.OR,
        )
        limits = {name: model._meta.get_field(name).max_length for name in fields}
        changed = set()
        for row in queryset.filter(naming).values("pk", *fields).iterator():
            if row["pk"] in changed:
                continue  # a row joined twice (proposer and co-presenter)
            scrubbed = {
                name: value for name in fields
                if (value := self.scrub(row[name] or "")[: limits[name]]) != (row[name] or "")
            }  # fmt: skip
            if scrubbed:
                model._base_manager.filter(pk=row["pk"]).update(**scrubbed)
                changed.add(row["pk"])
        return len(changed)

    def scrub_json(self, value):
        if isinstance(value, str):
            return self.scrub(value)
        if isinstance(value, list):
            return [self.scrub_json(item) for item in value]
        if isinstance(value, dict):
            return {self.scrub(str(k)): self.scrub_json(v) for k, v in value.items()}
        return value


@dataclass(frozen=True)
class PersonalData:
    section: str  # the key in the archive's data.json
    covers: tuple[str, ...]  # "app_label.Model.field" of the foreign keys to the user
    export: Callable[[models.Model], list[dict] | dict] | None = None
    files: Callable[[models.Model], Iterable[tuple[str, FieldFile]]] | None = None
    erase: Callable[[Erasure], None] | None = None  # None: the rows are kept, neutrally named
    order: int = 0  # erasers run by order, then registration (members' own last)


_RULES: dict[str, PersonalData] = {}


def personal_data_register(**kwargs) -> PersonalData:
    """Register a rule (keyword arguments of PersonalData). A foreign key covered twice is a
    mistake: ValueError."""
    rule = PersonalData(**kwargs)
    taken = {label for other in _RULES.values() for label in other.covers}
    if rule.section in _RULES or taken & set(rule.covers):
        raise ValueError(f"personal data: {rule.section} or {rule.covers} registered twice")
    _RULES[rule.section] = rule
    return rule


def personal_data_rules() -> list[PersonalData]:
    return list(_RULES.values())


# --- export ----------------------------------------------------------------------------------


def local(moment: datetime.datetime | datetime.date | None) -> str | None:
    """ISO 8601, in the forum's time zone (Asia/Shanghai) for moments."""
    if moment is None:
        return None
    if isinstance(moment, datetime.datetime):
        return timezone.localtime(moment).isoformat()
    return moment.isoformat()


def personal_data_collect(*, user) -> tuple[dict, list[tuple[str, FieldFile]]]:
    """Everything the forum holds about `user`: (data.json's content, files)."""
    sections, files = {}, []
    for rule in _RULES.values():
        if rule.export is not None:
            sections[rule.section] = rule.export(user)
        if rule.files is not None:
            files += [(f"files/{rule.section}/{name}", stored) for name, stored in rule.files(user)]
    data = {
        "format": ARCHIVE_FORMAT,
        "version": ARCHIVE_VERSION,
        "exported_at": local(timezone.now()),
        "time_zone": settings.TIME_ZONE,
        "account": user.pk,
        **sections,
    }
    return data, files


def personal_data_archive(*, user, max_bytes: int) -> bytes:
    """A zip of data.json and the member's files. PersonalDataError when the files add up to
    more than `max_bytes` (said before anything is read)."""
    data, files = personal_data_collect(user=user)
    sizes = []
    for _name, stored in files:
        try:
            sizes.append(stored.size)
        except (OSError, ValueError):  # listed, but gone from the storage
            sizes.append(0)
    total = sum(sizes)
    if total > max_bytes:
        raise PersonalDataError(
            _(
                "Your files add up to %(size)d MB, more than the %(max)d MB a download may "
                "hold. Ask an organiser for a copy."
            )
            % {"size": -(-total // 2**20), "max": max_bytes // 2**20}
        )
    buffer = io.BytesIO()
    missing = []
    seen: set[str] = set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, stored in files:
            unique, n = name, 1
            while unique in seen:
                n += 1
                stem, dot, ext = name.rpartition(".")
                unique = f"{stem}-{n}.{ext}" if dot else f"{name}-{n}"
            seen.add(unique)
            try:
                with stored.open("rb") as handle:
                    archive.writestr(unique, handle.read())
            except (OSError, ValueError):
                missing.append(unique)
        data["files_missing"] = missing
        archive.writestr(
            "data.json", json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False)
        )
    return buffer.getvalue()


# --- erasure ---------------------------------------------------------------------------------


def person_strings(user) -> list[str]:
    """The strings that name `user` in texts: the display name (two characters or more: a
    shorter one is a part of too many words), every e-mail address, the WeChat ID. Longest
    first, so that an address is replaced before the name inside it."""
    from allauth.account.models import EmailAddress

    strings = {user.email, *EmailAddress.objects.filter(user=user).values_list("email", flat=True)}
    if len(user.display_name) >= 2:
        strings.add(user.display_name)
    if len(user.wechat_id) >= 2:
        strings.add(user.wechat_id)
    return sorted(filter(None, strings), key=len, reverse=True)


def last_organiser(user) -> bool:
    from members.roles import Role
    from members.selectors import users_with_role_at_least

    if not user.has_role(Role.ORGANISER):
        return False
    return not users_with_role_at_least(Role.ORGANISER).exclude(pk=user.pk).exists()


def erasure_refusal(user) -> str | None:
    """Why `user`'s account cannot be deleted now (a message for them), or None."""
    if last_organiser(user):
        return _(
            "You are the forum's last organiser: make someone else an organiser first, so "
            "that the forum is not left without one."
        )
    return None


@transaction.atomic
def personal_data_erase(*, user, now: datetime.datetime | None = None) -> str:
    """Delete `user`'s account: every rule's eraser, then the account itself becomes
    "Former member N" (no name, e-mail, WeChat ID, password, role or sign-in; kept rows point
    at it), then copies of the person's name and addresses in the outbox and the admin's log
    are replaced by the neutral name. Returns the address the account had (for the last
    e-mail). Side effects after commit: the member's files are deleted from the storage and
    their login sessions end. PersonalDataError for the last organiser."""
    User = get_user_model()
    now = now or timezone.now()
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.deleted_at is not None:
        raise PersonalDataError(_("This account is already deleted."))
    refusal = erasure_refusal(user)
    if refusal:
        raise PersonalDataError(refusal)
    address = user.email
    erasure = Erasure(user=user, now=now, old_name=user.name, old_strings=person_strings(user))
    for rule in sorted(_RULES.values(), key=lambda rule: rule.order):
        if rule.erase is not None:
            rule.erase(erasure)
    _user_pseudonymise(erasure)
    _copies_scrub(erasure)
    files = list(erasure.files_to_delete)
    pk = user.pk
    transaction.on_commit(lambda: _files_delete(files))
    transaction.on_commit(lambda: login_sessions_end(user_pk=pk))
    return address


def _user_pseudonymise(erasure: Erasure) -> None:
    user = erasure.user
    user.groups.clear()
    user.user_permissions.clear()
    user.tracks_of_interest.clear()
    user.email = f"former-member-{user.pk}@{DELETED_EMAIL_DOMAIN}"
    user.display_name = ""
    user.wechat_id = ""
    user.preferred_language = ""
    user.calendar_token = None
    user.news_delivery = "off"
    user.followed_since = None
    user.is_active = False
    user.is_staff = False
    user.is_superuser = False
    user.last_login = None
    user.deleted_at = erasure.now
    user.set_unusable_password()  # also ends every session: its hash no longer matches
    user.save()
    user.__dict__.pop("role", None)


def _copies_scrub(erasure: Erasure) -> None:
    """The person's name and addresses copied into texts the forum keeps for others: notices
    to other people ("X joined your group") and the admin's log of changes to the account."""
    from django.contrib.admin.models import LogEntry
    from django.contrib.contenttypes.models import ContentType
    from django.db.models import Q

    from topicshare.notifications.models import Notification, WebhookDelivery

    if erasure.old_strings:
        texts = Q()
        for old in erasure.old_strings:
            texts |= Q(title__contains=old) | Q(body_text__contains=old)
            texts |= Q(body_html__contains=old) | Q(last_error__contains=old)
        for notification in Notification.objects.filter(texts).iterator():
            Notification.objects.filter(pk=notification.pk).update(
                title=erasure.scrub(notification.title)[:300],
                body_text=erasure.scrub(notification.body_text),
                body_html=erasure.scrub(notification.body_html),
                last_error=erasure.scrub(notification.last_error),
            )
    # Outgoing webhooks' log: "member.admitted" carried the display name to integrations.
    for delivery in WebhookDelivery.objects.filter(payload__data__id=erasure.user.pk):
        payload = erasure.scrub_json(delivery.payload)
        if payload != delivery.payload:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(payload=payload)
    user_type = ContentType.objects.get_for_model(erasure.user)
    LogEntry.objects.filter(content_type=user_type, object_id=str(erasure.user.pk)).update(
        object_repr=erasure.neutral_name, change_message=""
    )
    if erasure.old_strings:
        for entry in LogEntry.objects.filter(
            Q(*[Q(object_repr__contains=old) for old in erasure.old_strings], _connector=Q.OR)
        ):
            LogEntry.objects.filter(pk=entry.pk).update(
                object_repr=erasure.scrub(entry.object_repr)[:200]
            )


def _files_delete(files: list[FieldFile]) -> None:
    for stored in files:
        try:
            stored.storage.delete(stored.name)
        except OSError as error:  # a file the storage no longer has, or cannot reach
            logger.warning("could not delete %s: %s", stored.name, error)


def login_sessions_end(*, user_pk: int) -> int:
    """End every login session of the user (the database and the cache behind it)."""
    from importlib import import_module

    from django.contrib.sessions.models import Session

    store = import_module(settings.SESSION_ENGINE).SessionStore
    ended = 0
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if session.get_decoded().get("_auth_user_id") == str(user_pk):
            store(session_key=session.session_key).delete()
            ended += 1
    return ended


# --- the rules of members and of the apps below it -----------------------------------------


def _profile(user) -> dict:
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount

    return {
        "email": user.email,
        "display_name": user.display_name,
        "wechat_id": user.wechat_id,
        "preferred_language": user.preferred_language,
        "role": user.role.value,
        "joined": local(user.date_joined),
        "last_login": local(user.last_login),
        "news_of_what_i_follow": user.news_delivery,
        "following_since": local(user.followed_since),
        "tracks_of_interest": sorted(track.name for track in user.tracks_of_interest.all()),
        "email_addresses": [
            {"email": address.email, "verified": address.verified, "primary": address.primary}
            for address in EmailAddress.objects.filter(user=user).order_by("pk")
        ],
        "social_accounts": [
            {"provider": account.provider, "uid": account.uid, "since": local(account.date_joined)}
            for account in SocialAccount.objects.filter(user=user).order_by("pk")
        ],
    }


def _profile_erase(erasure: Erasure) -> None:
    from allauth.account.models import EmailAddress
    from allauth.socialaccount.models import SocialAccount

    EmailAddress.objects.filter(user=erasure.user).delete()
    SocialAccount.objects.filter(user=erasure.user).delete()  # their tokens go with them
    # Groups, permissions and tracks of interest: _user_pseudonymise clears them.


def _api_tokens(user) -> list[dict]:
    from members.models import ApiToken

    return [
        {
            "name": token.name,
            "scope": token.scope,
            "starts_with": f"tsk_{token.prefix}",
            "created": local(token.created_at),
            "last_used": local(token.last_used_at),
            "revoked": local(token.revoked_at),
        }
        for token in ApiToken.objects.filter(user=user).order_by("created_at", "pk")
    ]


def _api_tokens_erase(erasure: Erasure) -> None:
    from members.models import ApiToken

    ApiToken.objects.filter(user=erasure.user).delete()


def _applications(user) -> list[dict]:
    """My applications and what the committee told me; never the votes on them (neither who
    voted nor the tally: members.rules decides who sees those, and the applicant does not)."""
    from members.models import Application

    return [
        {
            "number": application.pk,
            "status": application.status,
            "motivation": application.motivation,
            "paper_title": application.paper_title,
            "paper_url": application.paper_url,
            "preferred_review_dates": application.preferred_dates,
            "slides": application.slides_name or application.slides.name,
            "review_talk": local(application.review_at),
            "notes_for_me": application.review_notes,
            "committee_feedback": application.feedback,
            "submitted": local(application.created_at),
            "decided": local(application.decided_at),
        }
        for application in Application.objects.filter(applicant=user).order_by("created_at", "pk")
    ]  # fmt: skip


def _application_files(user):
    from members.models import Application

    for application in Application.objects.filter(applicant=user).exclude(slides="").order_by("pk"):
        name = application.slides_name or application.slides.name.rsplit("/", 1)[-1]
        yield f"{application.pk}-{name}", application.slides


def _applications_erase(erasure: Erasure) -> None:
    """Open applications are withdrawn; every application keeps its decision's record (status,
    dates, the paper) and loses what the person wrote and what was written about them."""
    from members.models import Application, AuditEvent, Conflict, Vote

    mine = Application.objects.filter(applicant=erasure.user)
    for application in mine.filter(status__in=Application.OPEN):
        Vote.objects.filter(application=application).delete()
        Conflict.objects.filter(application=application).delete()
        AuditEvent.objects.create(
            action=AuditEvent.Action.APPLICATION_WITHDRAWN,
            application=application,
            subject_user=erasure.user,
            details={"reason": "account deleted"},
        )
    mine.filter(status__in=Application.OPEN).update(status=Application.Status.WITHDRAWN)
    for application in mine.exclude(slides=""):
        erasure.files_to_delete.append(application.slides)
    mine.update(
        motivation="", preferred_dates="", slides="", slides_name="", review_meeting_url="",
        review_notes="", feedback="", updated_at=erasure.now,
    )  # fmt: skip
    erasure.scrub_rows(mine, ["paper_title"])


def _ballots(user) -> list[dict]:
    """My own votes as a committee member: only mine, never another voter's."""
    from members.models import Vote

    return [
        {
            "application": vote.application_id,
            "paper_title": vote.application.paper_title,
            "vote": vote.choice,
            "comment": vote.comment,
            "cast": local(vote.created_at),
            "changed": local(vote.updated_at),
            "final_since": local(vote.final_at),
        }
        for vote in Vote.objects.filter(voter=user).select_related("application").order_by("pk")
    ]


def _ballots_erase(erasure: Erasure) -> None:
    """On an open application the vote goes (the voter is no longer on the committee); on a
    decided one the choice stays for the decision's record, under the neutral name, without
    the comment (the voter's own words)."""
    from members.models import Application, Vote

    mine = Vote.objects.filter(voter=erasure.user)
    mine.filter(application__status__in=Application.OPEN).delete()
    mine.update(comment="")


def _conflicts(user) -> list[dict]:
    from members.models import Conflict

    return [
        {"application": conflict.application_id, "reason": conflict.reason,
         "declared": local(conflict.created_at)}
        for conflict in Conflict.objects.filter(member=user).order_by("pk")
    ]  # fmt: skip


def _conflicts_erase(erasure: Erasure) -> None:
    from members.models import Application, Conflict

    Conflict.objects.filter(member=erasure.user, application__status__in=Application.OPEN).delete()


def _audit_trail(user) -> list[dict]:
    """What I did (my own votes included), and what was done about me — without who did it
    and without what tells how others voted (their votes, a decision's tally)."""
    from django.db.models import Q

    from members.models import AuditEvent

    events = AuditEvent.objects.filter(Q(actor=user) | Q(subject_user=user)).exclude(
        ~Q(actor=user), action__in=AuditEvent.BALLOT_ACTIONS
    )
    rows = []
    for event in events.order_by("at", "pk"):
        details = event.details if event.actor_id == user.pk else {
            key: value for key, value in event.details.items() if key not in AuditEvent.TALLY_KEYS
        }  # fmt: skip
        if event.action == AuditEvent.Action.DECISION:
            details = {k: v for k, v in details.items() if k not in AuditEvent.TALLY_KEYS}
        rows.append({
            "at": local(event.at),
            "action": event.action,
            "by_me": event.actor_id == user.pk,
            "about_me": event.subject_user_id == user.pk,
            "application": event.application_id,
            "details": details,
        })  # fmt: skip
    return rows


_EMAIL_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")


def _notices(user) -> list[dict]:
    """The notices sent or waiting for me, with any e-mail address not mine left out (a
    notice may name other people; their addresses are theirs)."""
    from allauth.account.models import EmailAddress

    from topicshare.notifications.models import Notification

    mine = {user.email.lower(), *(e.lower() for e in EmailAddress.objects.filter(
        user=user).values_list("email", flat=True))}  # fmt: skip

    def others_out(text: str) -> str:
        return _EMAIL_ADDRESS.sub(
            lambda m: m.group(0) if m.group(0).lower() in mine else "[e-mail address]", text
        )

    return [
        {
            "kind": notice.kind,
            "subject_line": others_out(notice.title),
            "text": others_out(notice.body_text),
            "link": notice.url,
            "status": notice.status,
            "due": local(notice.due_at),
            "sent": local(notice.sent_at),
        }
        for notice in Notification.objects.filter(recipient=user).order_by("due_at", "pk")
    ]


def _notices_erase(erasure: Erasure) -> None:
    """Pending notices to the person are cancelled by going, sent ones too: the outbox keeps
    no message to a person who left."""
    from topicshare.notifications.models import Notification

    Notification.objects.filter(recipient=erasure.user).delete()


def _opt_outs(user) -> list[str]:
    from topicshare.notifications.models import NotificationOptOut

    return sorted(NotificationOptOut.objects.filter(user=user).values_list("kind", flat=True))


def _opt_outs_erase(erasure: Erasure) -> None:
    from topicshare.notifications.models import NotificationOptOut

    NotificationOptOut.objects.filter(user=erasure.user).delete()


def _webhooks(user) -> list[dict]:
    from topicshare.notifications.models import WebhookEndpoint

    return [
        {"address": endpoint.url, "description": endpoint.description,
         "created": local(endpoint.created_at)}
        for endpoint in WebhookEndpoint.objects.filter(created_by=user).order_by("pk")
    ]  # fmt: skip


def _admin_actions(user) -> list[dict]:
    """What I changed in the admin: when, which kind of object, which one (by number; its
    description may name others)."""
    from django.contrib.admin.models import LogEntry

    return [
        {
            "at": local(entry.action_time),
            "object": f"{entry.content_type.app_label}.{entry.content_type.model}"
            if entry.content_type_id else "",
            "object_id": entry.object_id,
            "action": {1: "added", 2: "changed", 3: "deleted"}.get(entry.action_flag, ""),
        }
        for entry in LogEntry.objects.filter(user=user).select_related("content_type")
    ]  # fmt: skip


personal_data_register(
    section="profile",
    covers=(
        "members.User_groups.user", "members.User_user_permissions.user",
        "members.User_tracks_of_interest.user", "account.EmailAddress.user",
        "socialaccount.SocialAccount.user",
    ),
    export=_profile, erase=_profile_erase, order=100,
)  # fmt: skip
personal_data_register(
    section="api_tokens", covers=("members.ApiToken.user",), export=_api_tokens,
    erase=_api_tokens_erase, order=100,
)  # fmt: skip
personal_data_register(
    section="applications", covers=("members.Application.applicant",), export=_applications,
    files=_application_files, erase=_applications_erase, order=100,
)  # fmt: skip
personal_data_register(
    section="my_ballots", covers=("members.Vote.voter",), export=_ballots, erase=_ballots_erase,
    order=100,
)  # fmt: skip
personal_data_register(
    section="conflicts_of_interest", covers=("members.Conflict.member",), export=_conflicts,
    erase=_conflicts_erase, order=100,
)  # fmt: skip
# Kept (append-only): the same rows, now naming "Former member N".
personal_data_register(
    section="audit_trail", covers=("members.AuditEvent.actor", "members.AuditEvent.subject_user"),
    export=_audit_trail,
)  # fmt: skip
personal_data_register(
    section="notices_to_me", covers=("notifications.Notification.recipient",), export=_notices,
    erase=_notices_erase, order=100,
)  # fmt: skip
personal_data_register(
    section="email_opt_outs", covers=("notifications.NotificationOptOut.user",),
    export=_opt_outs, erase=_opt_outs_erase, order=100,
)  # fmt: skip
personal_data_register(
    section="webhooks_i_registered", covers=("notifications.WebhookEndpoint.created_by",),
    export=_webhooks,
)  # fmt: skip
personal_data_register(
    section="admin_actions", covers=("admin.LogEntry.user",), export=_admin_actions
)

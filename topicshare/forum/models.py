import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from members.roles import RoleChangeCause
from topicshare.core.limits import LONG_TEXT_MAX_CHARS, LimitedTextField
from topicshare.core.pagecache import content_version_for
from topicshare.core.singletons import keeps_row, kept_row
from topicshare.core.uploads import private_storage
from topicshare.core.validators import validate_image_size, validate_name_characters


def study_group_qr_upload_to(instance, filename: str) -> str:
    """A random name: nothing of the uploader's file name, nothing to guess."""
    return f"forum/private/{uuid.uuid4().hex}"


@keeps_row
class ForumSettings(models.Model):
    """The one row of forum-wide settings that organisers edit in the admin."""

    forum_name = models.CharField(
        _("forum name"),
        max_length=80,
        default="TopicShare",
        validators=[validate_name_characters],
    )
    slogan = models.CharField(
        _("slogan"),
        max_length=200,
        blank=True,
        default="一起读论文，每周六 20:30 见",
        validators=[validate_name_characters],
    )
    join_instructions = LimitedTextField(
        _("join instructions"),
        max_length=LONG_TEXT_MAX_CHARS,
        blank=True,
        help_text=_("Shown on the home page and the Join page: how newcomers get in."),
    )
    official_account_qr = models.ImageField(
        _("official-account QR code"),
        upload_to="forum/",
        blank=True,
        validators=[validate_image_size],
    )
    study_group_steps = LimitedTextField(
        _("how to join the study group"),
        max_length=LONG_TEXT_MAX_CHARS,
        blank=True,
        help_text=_(
            "Shown to members only, on their page and in the admission e-mail: how to get into "
            "the study group's WeChat group, e.g. “Add the organiser's WeChat xxx, note "
            "TopicShare”."
        ),
    )
    study_group_qr = models.ImageField(
        _("study group QR code"),
        # Private: members only, through the study-group-qr view (never under /media/).
        upload_to=study_group_qr_upload_to,
        storage=private_storage,
        blank=True,
        validators=[validate_image_size],
        help_text=_("Members only: shown on their page, never on a public address."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        db_table = "topicshare_forumsettings"
        verbose_name = _("forum settings")
        verbose_name_plural = _("forum settings")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="forum_settings_singleton")
        ]

    def __str__(self) -> str:
        return self.forum_name

    def clean(self) -> None:
        if not self.forum_name.strip():
            raise ValidationError({"forum_name": _("The forum needs a name.")})

    @classmethod
    def load(cls) -> "ForumSettings":
        obj, _created = cls.objects.get_or_create(id=1)
        return obj

    @classmethod
    def cached(cls, request=None) -> "ForumSettings":
        """For display (every page's header and footer): kept under the content version,
        which an edit of these settings grows (forum's public_models), and in the shared
        cache (topicshare.core.singletons)."""
        return kept_row(cls, version=content_version_for(request))


class OfficialAccountDraft(models.Model):
    """A promotion pack's article saved to the official account's draft box: saving it again
    updates the same draft (topicshare/forum/wechat_mp.py)."""

    class Kind(models.TextChoices):
        SESSION = "session", _("session")
        TOPIC = "topic", _("topic")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    object_id = models.PositiveIntegerField(_("session or topic"))
    language = models.CharField(_("language"), max_length=10)
    media_id = models.CharField(_("draft's media ID"), max_length=200)
    saved_at = models.DateTimeField(_("saved at"), auto_now=True)
    saved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("saved by"),
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("official-account draft")
        verbose_name_plural = _("official-account drafts")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "object_id", "language"], name="one_draft_per_pack_and_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} ({self.language})"


@keeps_row
class GroupChange(models.Model):
    """A hand job in WeChat for the organisers' checklist (/staff/onboarding/): add someone to
    the study group's chat, or remove them, ticked off when done. Made when a role crosses
    the member line (topicshare/forum/onboarding.py, on members' `role_changed`)."""

    class Change(models.TextChoices):
        ADD = "add", _("add to the study group")
        REMOVE = "remove", _("remove from the study group")

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.CASCADE,
        related_name="group_changes",
    )
    change = models.CharField(_("change"), max_length=10, choices=Change.choices)
    reason = models.CharField(_("reason"), max_length=20, choices=RoleChangeCause.choices)
    created_at = models.DateTimeField(_("since"), default=timezone.now)
    done_at = models.DateTimeField(_("done at"), null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("done by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    closed_automatically = models.BooleanField(
        _("no longer needed"),
        default=False,
        help_text=_("Closed by the forum: the opposite change came before this one was done."),
    )

    class Meta:
        verbose_name = _("study group change")
        verbose_name_plural = _("study group changes")
        ordering = ["created_at", "pk"]
        constraints = [
            # Each change closes the person's open one: one thing at a time to do for them.
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(done_at__isnull=True),
                name="one_open_group_change_per_person",
            ),
            models.CheckConstraint(
                condition=models.Q(done_at__isnull=False) | models.Q(closed_automatically=False),
                name="group_change_closed_automatically_is_done",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_change_display()}: {self.user}"

    @property
    def is_open(self) -> bool:
        return self.done_at is None


class AccountDeletion(models.Model):
    """A member's request to delete their account (topicshare/forum/account_data.py): asked
    on the profile with the password, confirmed by the link e-mailed to them, then done by
    members.personal_data. Organisers see it in their inbox; once done it names the neutral
    "Former member N" the account became."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("member"),
        on_delete=models.PROTECT,
        related_name="account_deletions",
    )
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)

    class Meta:
        verbose_name = _("account deletion")
        verbose_name_plural = _("account deletions")
        ordering = ["-requested_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(done_at__isnull=True),
                name="one_open_account_deletion_per_person",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.requested_at:%Y-%m-%d}"

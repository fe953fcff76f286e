from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from topicshare.core.limits import LONG_TEXT_MAX_CHARS, LimitedTextField
from topicshare.core.pagecache import content_version_for
from topicshare.core.singletons import keeps_row, kept_row
from topicshare.core.validators import validate_image_size, validate_name_characters


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

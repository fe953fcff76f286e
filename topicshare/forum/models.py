from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from topicshare.core.limits import LONG_TEXT_MAX_CHARS, LimitedTextField
from topicshare.core.pagecache import content_version_for
from topicshare.core.validators import validate_image_size, validate_name_characters


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
        """For display (every page's header and footer): kept in this process under the
        content version, which an edit of these settings grows (forum's public_models)."""
        version = content_version_for(request)
        if _shown.get("version") != version:
            _shown.update(version=version, settings=cls.load())
        return _shown["settings"]


# The settings as last shown by this process, and the content version they belong to.
_shown: dict = {}


def forget_shown_settings() -> None:
    _shown.clear()

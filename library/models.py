from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from library.vocabulary import term_error, term_key
from topicshare.core.limits import (
    ARTICLE_HTML_MAX_CHARS,
    LONG_TEXT_MAX_CHARS,
    MARKDOWN_MAX_CHARS,
    LimitedTextField,
)
from topicshare.core.markup import RenderedMarkdown
from topicshare.core.uploads import SafeUploadTo, private_storage, validate_slides_file


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=60, unique=True)
    # Who follows the tag: its new items reach them (topicshare/forum/digest.py).
    followers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("followers"),
        related_name="followed_tags",
        blank=True,
    )

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


# Items without a season come after every season, items without a domain after every domain.
NO_SEASON_RANK = -1
NO_DOMAIN_RANK = 100_000


def browse_ranks(season, domain) -> tuple[int, int]:
    return (
        season.order if season else NO_SEASON_RANK,
        domain.order if domain else NO_DOMAIN_RANK,
    )


class LibraryItem(RenderedMarkdown, models.Model):
    """One thing in the library: a talk with its slides and recording, a paper, an article…
    A talk's related papers are its children."""

    markdown_fields = {"summary": "summary_html"}

    class Kind(models.TextChoices):
        TALK = "talk", _("Talk")
        SLIDES = "slides", _("Slides")
        PAPER = "paper", _("Paper")
        ARTICLE = "article", _("Article")
        VIDEO = "video", _("Video")
        NOTE = "note", _("Note")

    class Visibility(models.TextChoices):
        PUBLIC = "public", _("Everyone")
        MEMBERS = "members", _("Members only")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.TALK)
    title = models.CharField(_("title"), max_length=500)
    season = models.ForeignKey(
        "topic_sessions.Season",
        verbose_name=_("season"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="library_items",
    )
    domain = models.ForeignKey(
        "topic_sessions.Track",
        verbose_name=_("domain"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="library_items",
    )
    sub_theme = models.CharField(_("sub-theme"), max_length=100, blank=True)
    presenters = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("presenters"),
        related_name="library_items",
        blank=True,
        help_text=_("Imported names are placeholder people until merged into an account."),
    )
    slides_file = models.FileField(
        _("slides file"),
        upload_to=SafeUploadTo("library"),
        # Private: served by library:slides, which hides members-only items.
        storage=private_storage,
        blank=True,
        validators=[validate_slides_file],
    )
    slides_name = models.CharField(_("original file name"), max_length=200, blank=True)
    slides_url = models.URLField(_("slides link"), max_length=1000, blank=True)
    paper_url = models.URLField(_("paper link"), max_length=1000, blank=True)
    recording_url = models.URLField(_("recording link"), max_length=1000, blank=True)
    extraction_code = models.CharField(_("extraction code (提取码)"), max_length=20, blank=True)
    source_url = models.URLField(_("source"), max_length=1000, blank=True)
    parent = models.ForeignKey(
        "self",
        verbose_name=_("part of"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="children",
        # Indexed by the two partial indexes in Meta, not by a plain one.
        db_index=False,
    )
    position = models.PositiveIntegerField(_("order"), default=0)
    summary = LimitedTextField(
        _("summary"), max_length=MARKDOWN_MAX_CHARS, blank=True, help_text=_("Markdown.")
    )
    # The summary rendered and sanitised when it is saved: pages never render it.
    summary_html = models.TextField(editable=False, blank=True)
    content_html = LimitedTextField(
        _("content"), max_length=ARTICLE_HTML_MAX_CHARS, blank=True, help_text=_("Sanitised HTML.")
    )
    note = LimitedTextField(_("reader's note"), max_length=LONG_TEXT_MAX_CHARS, blank=True)
    tags = models.ManyToManyField(Tag, verbose_name=_("tags"), related_name="items", blank=True)
    visibility = models.CharField(
        _("visible to"), max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    session = models.ForeignKey(
        "topic_sessions.WeeklySession",
        verbose_name=_("session"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="library_items",
    )
    author_name = models.CharField(_("author"), max_length=120, blank=True)
    author_url = models.URLField(_("author's page"), max_length=1000, blank=True)
    upvotes = models.PositiveIntegerField(_("upvotes"), null=True, blank=True)
    year = models.PositiveSmallIntegerField(_("year"), null=True, blank=True, db_index=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    source_file = models.CharField(_("imported from"), max_length=200, blank=True)
    source_key = models.CharField(_("position in the import"), max_length=300, blank=True)
    # Tokens for search: lowercased words and Chinese unigrams + bigrams (see library/search.py).
    search_text = models.TextField(editable=False, blank=True)
    # Copies of season.order and domain.order, so that the browse order (newest season
    # first, then domains in their order) is read straight from an index instead of sorting
    # every item on each request. Kept by services.items_reindex and by the Season/Track
    # receivers in library/signals.py; see browse_ranks().
    season_rank = models.IntegerField(editable=False, default=NO_SEASON_RANK)
    domain_rank = models.IntegerField(editable=False, default=NO_DOMAIN_RANK)
    created_at = models.DateTimeField(_("added"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("library item")
        verbose_name_plural = _("library items")
        ordering = ["position", "id"]
        indexes = [
            # Browsing: top-level items in README order, read in index order
            # (library.selectors.BROWSE_ORDER). Partial (parent IS NULL), because PostgreSQL
            # reads an index in order only when its leading columns are the ORDER BY.
            # `visibility` last makes counting the visible items an index-only scan.
            models.Index(
                fields=[
                    "-season_rank", "season", "domain_rank", "domain", "position", "id",
                    "visibility",
                ],
                condition=models.Q(parent__isnull=True),
                name="library_browse",
            ),
            # A talk's related papers, in order. Partial, so that browsing (parent IS NULL)
            # can only take the index above.
            models.Index(
                fields=["parent", "position", "id"],
                condition=models.Q(parent__isnull=False),
                name="library_children",
            ),
        ]  # fmt: skip
        constraints = [
            models.UniqueConstraint(
                fields=["source_file", "source_key"],
                condition=~models.Q(source_file=""),
                name="one_item_per_import_position",
            )
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def has_slides(self) -> bool:
        return bool(self.slides_file or self.slides_url)


class OpenSourceProject(models.Model):
    """What the forum's members published (沉淀的开源方案)."""

    name = models.CharField(_("name"), max_length=200)
    url = models.URLField(_("address"), max_length=500, unique=True)
    description = LimitedTextField(_("description"), max_length=LONG_TEXT_MAX_CHARS, blank=True)
    maintainers = models.ManyToManyField(
        settings.AUTH_USER_MODEL, verbose_name=_("maintainers"), blank=True, related_name="+"
    )
    position = models.PositiveIntegerField(_("order"), default=0)

    class Meta:
        verbose_name = _("open-source project")
        verbose_name_plural = _("open-source projects")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Concept(models.Model):
    """One idea of the field, under every name members search it by (library/vocabulary.py):
    命名实体识别 / named entity recognition / NER. Searching any of its terms also searches
    the others (library/search.py). Shipped in library/vocabulary.json; organisers edit it in
    the admin, and `manage.py vocabulary_load` keeps their edits (`edited`)."""

    class Area(models.TextChoices):
        NLP = "nlp", _("Natural language processing")
        CV = "cv", _("Computer vision")
        RECSYS = "recsys", _("Recommender systems")
        ML = "ml", _("Machine learning")
        OTHER = "other", _("Other")

    # The shipped file's name for the concept, so that reloading the file updates it in place.
    key = models.SlugField(_("key"), max_length=80, unique=True)
    area = models.CharField(_("area"), max_length=10, choices=Area.choices, default=Area.OTHER)
    note = models.CharField(_("note"), max_length=200, blank=True)
    # Changed by an organiser: reloading the shipped file leaves it alone (unless --replace).
    edited = models.BooleanField(_("edited by organisers"), default=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("search concept")
        verbose_name_plural = _("search concepts")
        ordering = ["area", "key"]

    def __str__(self) -> str:
        return self.key


class Term(models.Model):
    """One name of a concept. A term or an abbreviation found in a query brings in the
    concept's other names; a member (YOLO under object detection) is searched when its
    concept is, but does not bring in the concept or its siblings."""

    class Kind(models.TextChoices):
        TERM = "term", pgettext_lazy("a kind of search term", "Term")
        ABBREVIATION = "abbreviation", pgettext_lazy("a kind of search term", "Abbreviation")
        MEMBER = "member", pgettext_lazy("a kind of search term", "Member")

    concept = models.ForeignKey(
        Concept, on_delete=models.CASCADE, related_name="terms", verbose_name=_("concept")
    )
    text = models.CharField(_("name"), max_length=80)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.TERM)
    # The text as search compares it (lowercased words, a Chinese run whole; library/vocabulary
    # .term_key): one meaning per name, whichever spelling an organiser typed.
    normalized = models.CharField(max_length=80, editable=False)

    class Meta:
        verbose_name = _("search term")
        verbose_name_plural = _("search terms")
        ordering = ["concept", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["concept", "normalized"], name="library_term_once_per_concept"
            ),
            # A term or abbreviation means one concept; a member may sit under several.
            models.UniqueConstraint(
                fields=["normalized"],
                condition=~models.Q(kind="member"),
                name="library_term_one_meaning",
                violation_error_message=_("This name already belongs to another concept."),
            ),
        ]

    def __str__(self) -> str:
        return self.text

    def save(self, *args, **kwargs):
        self.normalized = term_key(self.text)
        super().save(*args, **kwargs)

    def clean(self):
        error = term_error(self.text, self.kind)
        if error:
            raise ValidationError({"text": error})
        self.normalized = term_key(self.text)
        # `normalized` is not a form field, so the constraints on it are not checked by the
        # form: say so here instead of failing on the database.
        others = Term.objects.filter(normalized=self.normalized).exclude(pk=self.pk)
        if self.kind != self.Kind.MEMBER and others.exclude(kind=self.Kind.MEMBER).exists():
            raise ValidationError({"text": _("This name already belongs to another concept.")})
        if self.concept_id and others.filter(concept_id=self.concept_id).exists():
            raise ValidationError({"text": _("The concept already has this name.")})

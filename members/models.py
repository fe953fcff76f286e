import functools

import rules
from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import connections, models, router
from django.db.models.expressions import Col, RawSQL
from django.utils.functional import cached_property
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from members.roles import Role
from topicshare.core.limits import LONG_TEXT_MAX_CHARS, LimitedTextField
from topicshare.core.uploads import SafeUploadTo, private_storage, validate_slides_file
from topicshare.core.validators import validate_name_characters


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)

    def get(self, *args, **kwargs):
        """`get(pk=…)` — what the authentication backends ask on every signed-in request —
        from one statement built once a process, not the ORM's compiling of the same query
        each time (180 µs of a 1 ms page served from the cache). The same User, with the
        same signals; anything else, or a pk that is not a number, goes the ORM's way."""
        if args or kwargs.keys() != {"pk"} or self._db is not None:
            return super().get(*args, **kwargs)
        pk_field = self.model._meta.pk
        try:
            pk = pk_field.get_prep_value(pk_field.to_python(kwargs["pk"]))
        except (ValidationError, TypeError, ValueError):
            return super().get(*args, **kwargs)
        alias = router.db_for_read(self.model)
        connection = connections[alias]
        sql, fields, converters = _by_pk_statement(self.model, alias)
        with connection.cursor() as cursor:
            cursor.execute(sql, [pk])
            row = cursor.fetchone()
        if row is None:
            raise self.model.DoesNotExist(
                f"{self.model._meta.object_name} matching query does not exist."
            )
        values = list(row[:-1])
        for index, field_converters in converters:
            for convert in field_converters:
                values[index] = convert(values[index], fields[index], connection)
        user = self.model.from_db(alias, [field.target.attname for field in fields], values)
        # Its groups' names came with it: the role needs no query of its own (role_set()
        # forgets it when it changes the groups).
        user.__dict__["role"] = role_of(_group_names(row[-1]), user)
        return user

    def with_role(self):
        """Users whose `.role` needs no query of its own: their groups' names come with each
        row (for lists of people, instead of prefetching the groups)."""
        connection = connections[router.db_for_read(self.model)]
        return self.annotate(
            # the model's own table and column names, no input
            role_group_names=RawSQL(_group_names_sql(self.model, connection), ()),  # noqa: S611
        )


def role_of(group_names: set[str], user) -> Role:
    """The highest role among these group names; superusers count as organisers."""
    if user.is_superuser:
        return Role.ORGANISER
    for role in reversed(Role):
        if role.value in group_names:
            return role
    return Role.AUDIENCE


GROUP_NAMES_SEPARATOR = "\x1f"


def _group_names_sql(model, connection) -> str:
    """A subquery of the user row's group names, joined by GROUP_NAMES_SEPARATOR (NULL
    without groups), correlated with the user table by its name."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    groups = model.groups.through
    group_table = quote(groups._meta.get_field("group").related_model._meta.db_table)
    separator = "chr(31)" if connection.vendor == "postgresql" else "char(31)"
    aggregate = "string_agg" if connection.vendor == "postgresql" else "group_concat"
    return (
        f"(SELECT {aggregate}(g.name, {separator}) FROM {group_table} g"  # noqa: S608
        f" JOIN {quote(groups._meta.db_table)} ug ON ug.group_id = g.id"
        f" WHERE ug.user_id = {table}.{quote(model._meta.pk.column)})"
    )


def _group_names(joined: str | None) -> set[str]:
    return set(filter(None, (joined or "").split(GROUP_NAMES_SEPARATOR)))


@functools.cache
def _by_pk_statement(model, alias: str):
    """SELECT every concrete column WHERE pk = %s, its columns and their converters (what
    the ORM's compiler applies to each value), for this database."""
    connection = connections[alias]
    table = model._meta.db_table
    fields = [Col(table, field) for field in model._meta.concrete_fields]
    quote = connection.ops.quote_name
    columns = ", ".join(f"{quote(table)}.{quote(col.target.column)}" for col in fields)
    names = _group_names_sql(model, connection)
    sql = (
        f"SELECT {columns}, {names} FROM {quote(table)}"  # noqa: S608
        f" WHERE {quote(model._meta.pk.column)} = %s"
    )
    converters = []
    for index, col in enumerate(fields):
        found = connection.ops.get_db_converters(col) + col.get_db_converters(connection)
        if found:
            converters.append((index, found))
    return sql, fields, converters


# The address of a deleted account: former-member-<pk>@deleted.invalid (.invalid receives no
# mail, RFC 2606).
DELETED_EMAIL_DOMAIN = "deleted.invalid"


def neutral_name_of(pk: int) -> str:
    """How a deleted account shows (members.personal_data): a number, never the person."""
    return gettext("Former member %(number)d") % {"number": pk}


class NewsDelivery(models.TextChoices):
    WEEKLY = "weekly", _("One weekly digest (Monday morning)")
    INSTANT = "instant", _("Each piece of news at once")
    OFF = "off", _("Nothing")


class User(AbstractUser):
    """A person with an account. E-mail is the login; the role is an auth group."""

    username = None
    first_name = None
    last_name = None
    email = models.EmailField(_("e-mail address"), unique=True)
    display_name = models.CharField(
        _("display name"),
        max_length=60,
        blank=True,
        help_text=_("How the forum shows you."),
        # Every path sets it through validation: the profile form, the admin, placeholders.
        validators=[validate_name_characters],
    )
    wechat_id = models.CharField(
        _("WeChat ID"),
        max_length=40,
        blank=True,
        help_text=_("Optional. Only organisers can see it, to add you to study groups."),
    )
    preferred_language = models.CharField(
        _("preferred language"), max_length=10, choices=settings.LANGUAGES, blank=True
    )
    is_placeholder = models.BooleanField(
        _("placeholder"),
        default=False,
        help_text=_(
            "A person known only by name (from an imported sheet). Cannot log in; an organiser "
            "merges it into the real account once that person signs up."
        ),
    )
    calendar_token = models.CharField(
        _("calendar token"),
        max_length=64,
        unique=True,
        null=True,
        blank=True,
        editable=False,
        help_text=_("The secret in the address of this person's calendar feed."),
    )
    # How news of what one follows (tracks of interest, followed library tags) arrives:
    # topicshare/forum/digest.py.
    news_delivery = models.CharField(
        _("news of what I follow"),
        max_length=10,
        choices=NewsDelivery.choices,
        default=NewsDelivery.OFF,
    )
    followed_since = models.DateTimeField(_("following since"), null=True, blank=True)
    tracks_of_interest = models.ManyToManyField(
        "topic_sessions.Track",
        verbose_name=_("tracks of interest"),
        related_name="interested_users",
        blank=True,
    )
    # Set when the person deleted their account (members.personal_data): the row stays for
    # what the forum keeps (a presented talk, attendance, the audit trail), without a name,
    # an address or a way to sign in; it shows as "Former member N".
    deleted_at = models.DateTimeField(_("account deleted"), null=True, blank=True, editable=False)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        ordering = ["email"]
        constraints = [
            # An imported name maps to one placeholder, even when two imports run at once.
            models.UniqueConstraint(
                fields=["display_name"],
                condition=models.Q(is_placeholder=True),
                name="one_placeholder_per_name",
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def name(self) -> str:
        if self.display_name:
            return self.display_name
        local_part, _at, domain = self.email.partition("@")
        # A deleted account (members.personal_data) by its address, not by deleted_at: pages
        # and migrations that load only the name fields must not load another column.
        if domain == DELETED_EMAIL_DOMAIN:
            return neutral_name_of(self.pk)
        return local_part

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.name

    @cached_property
    def role(self) -> Role:
        """The highest role group this user is in; superusers count as organisers."""
        if "role_group_names" in self.__dict__:  # read with the row (UserManager.with_role)
            return role_of(_group_names(self.__dict__["role_group_names"]), self)
        return role_of({group.name for group in self.groups.all()}, self)

    def has_role(self, role: Role) -> bool:
        return self.is_active and self.role.rank >= role.rank

    def has_perm(self, perm: str, obj=None) -> bool:
        """A permission registered with django-rules (the apps' rules.py) is its rule's answer,
        for everyone: Django's superuser shortcut and the organisers' blanket admin grant
        (members.backends.RoleBackend) do not override it. Those rules say whether an action
        can be done at all (leave a group one is not in, join a closed one), so a page that
        asks them offers exactly what the service accepts."""
        if rules.perm_exists(perm):
            return self.is_active and rules.has_perm(perm, self, obj)
        return super().has_perm(perm, obj)


class AdmissionSettings(models.Model):
    """The committee's rules, edited by organisers in the admin (one row)."""

    class Reveal(models.TextChoices):
        AFTER_OWN_VOTE = "after_own_vote", _("after casting one's own vote")
        AFTER_CLOSE = "after_close", _("only after the vote closes")

    quorum = models.PositiveSmallIntegerField(
        _("quorum"),
        default=3,
        validators=[MinValueValidator(1)],
        help_text=_("Votes needed to decide; all eligible committee members if there are fewer."),
    )
    cooldown_days = models.PositiveSmallIntegerField(
        _("days before re-applying after a rejection"), default=60
    )
    reveal_votes = models.CharField(
        _("committee members see others' votes"),
        max_length=20,
        choices=Reveal.choices,
        default=Reveal.AFTER_OWN_VOTE,
    )

    class Meta:
        verbose_name = _("admission settings")
        verbose_name_plural = _("admission settings")
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="admission_settings_singleton")
        ]

    def __str__(self) -> str:
        return str(_("Admission settings"))

    @classmethod
    def load(cls) -> "AdmissionSettings":
        obj, _created = cls.objects.get_or_create(id=1)
        return obj


class Application(models.Model):
    """An audience member's request to join the inner study group (流入)."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        REVIEW_SCHEDULED = "review_scheduled", _("Review talk scheduled")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Not approved")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    OPEN = [Status.SUBMITTED, Status.REVIEW_SCHEDULED]
    # The committee's written feedback, which the applicant gets with the decision.
    FEEDBACK_MAX_LENGTH = 5000

    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("applicant"),
        on_delete=models.CASCADE,
        related_name="applications",
    )
    motivation = LimitedTextField(_("motivation"), max_length=LONG_TEXT_MAX_CHARS)
    paper_title = models.CharField(
        _("paper to present"), max_length=300, validators=[validate_name_characters]
    )
    paper_url = models.URLField(_("link to the paper"), max_length=500)
    preferred_dates = models.CharField(_("preferred review dates"), max_length=300, blank=True)
    slides = models.FileField(
        _("slides"),
        storage=private_storage,
        upload_to=SafeUploadTo("applications"),
        blank=True,
        validators=[validate_slides_file],
    )
    slides_name = models.CharField(_("original file name"), max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.SUBMITTED
    )
    review_at = models.DateTimeField(_("review talk"), null=True, blank=True)
    review_meeting_url = models.URLField(_("review meeting link"), max_length=500, blank=True)
    review_notes = LimitedTextField(
        _("notes for the applicant"), max_length=LONG_TEXT_MAX_CHARS, blank=True
    )
    vote_deadline = models.DateTimeField(
        _("vote closes at"),
        null=True,
        blank=True,
        help_text=_("Closed automatically then, if the quorum is reached."),
    )
    feedback = LimitedTextField(
        _("committee feedback"),
        max_length=LONG_TEXT_MAX_CHARS,
        blank=True,
        help_text=_("Shown to the applicant with the decision (never who voted what)."),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    created_at = models.DateTimeField(_("submitted"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("application")
        verbose_name_plural = _("applications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["applicant"],
                # Application.OPEN (the class's own names are not in reach here)
                condition=models.Q(status__in=["submitted", "review_scheduled"]),
                name="one_open_application",
                violation_error_message=_("You already have an open application."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.applicant} · {self.paper_title}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN


class Vote(models.Model):
    class Choice(models.TextChoices):
        APPROVE = "approve", _("Approve")
        REJECT = "reject", _("Reject")
        ABSTAIN = "abstain", _("Abstain")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="votes")
    voter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="admission_votes"
    )
    choice = models.CharField(_("vote"), max_length=10, choices=Choice.choices)
    comment = LimitedTextField(
        _("comment"),
        max_length=LONG_TEXT_MAX_CHARS,
        blank=True,
        help_text=_("The questions you asked and your assessment."),
    )
    created_at = models.DateTimeField(_("cast"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)
    final_at = models.DateTimeField(
        _("final since"),
        null=True,
        blank=True,
        help_text=_(
            "When the voter made the vote final and was shown the others' votes. A final vote "
            "cannot change."
        ),
    )

    COMMENT_MAX_LENGTH = 5000

    class Meta:
        verbose_name = _("vote")
        verbose_name_plural = _("votes")
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "voter"], name="one_vote_per_voter")
        ]

    def __str__(self) -> str:
        return f"{self.voter} · {self.choice}"


class Conflict(models.Model):
    """A committee member who must not vote on an application (e.g. they referred the person)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="conflicts")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="admission_conflicts"
    )
    reason = models.CharField(_("reason"), max_length=200)
    created_at = models.DateTimeField(_("declared"), auto_now_add=True)

    class Meta:
        verbose_name = _("conflict of interest")
        verbose_name_plural = _("conflicts of interest")
        constraints = [
            models.UniqueConstraint(
                fields=["application", "member"], name="one_conflict_per_member"
            )
        ]

    def __str__(self) -> str:
        return f"{self.member} ✕ {self.application_id}"


class AuditEvent(models.Model):
    """Append-only: who did what, when — votes, decisions, role changes."""

    class Action(models.TextChoices):
        APPLICATION_SUBMITTED = "application_submitted", _("Application submitted")
        REVIEW_SCHEDULED = "review_scheduled", _("Review talk scheduled")
        VOTE_CAST = "vote_cast", _("Vote cast")
        VOTE_CHANGED = "vote_changed", _("Vote changed")
        VOTE_FINAL = "vote_final", _("Vote made final")
        CONFLICT_DECLARED = "conflict_declared", _("Conflict declared")
        DECISION = "decision", _("Decision")
        ROLE_CHANGED = "role_changed", _("Role changed")
        APPLICATION_WITHDRAWN = "application_withdrawn", _("Application withdrawn")
        SEASON_REMOVAL = "season_removal", _("Moved back to the audience after a season")
        LEDGER_EXEMPTION = "ledger_exemption", _("Exempted from the season review")
        LEDGER_EXEMPTION_REVOKED = "ledger_exemption_revoked", _("Season review exemption revoked")
        API_TOKEN_CREATED = "api_token_created", _("API token created")
        API_TOKEN_REVOKED = "api_token_revoked", _("API token revoked")

    at = models.DateTimeField(_("at"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    action = models.CharField(_("action"), max_length=30, choices=Action.choices)
    application = models.ForeignKey(
        Application, on_delete=models.SET_NULL, null=True, blank=True, related_name="audit"
    )
    subject_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("person"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit event")
        verbose_name_plural = _("audit trail")
        ordering = ["-at", "-id"]

    # Events that tell how someone voted: shown only where the ballot's rule lets one see the
    # votes (members.rules.applications_with_visible_votes). A decision's tally, too.
    BALLOT_ACTIONS = frozenset({Action.VOTE_CAST, Action.VOTE_CHANGED, Action.VOTE_FINAL})
    TALLY_KEYS = ("approve", "reject", "abstain")

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("Audit events are append-only.")

    @property
    def details_shown(self) -> dict:
        """The details as the audit trail shows them: a decision's tally only where the
        reader may see the votes (`votes_shown`, annotated by
        members.rules.audit_events_visible_to; without it, never)."""
        if getattr(self, "votes_shown", False):
            return self.details
        return {key: value for key, value in self.details.items() if key not in self.TALLY_KEYS}


class ApiToken(models.Model):
    """A personal API token (members.api_tokens): sent as `Authorization: Bearer tsk_…`.
    The token itself is shown once and never stored; `hashed` finds it again."""

    class Scope(models.TextChoices):
        READ = "read", _("Read")
        WRITE = "write", _("Read and write")

    # A user's live (not revoked) tokens, at most.
    MAX_LIVE_PER_USER = 20

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="api_tokens",
    )
    name = models.CharField(_("name"), max_length=100)
    scope = models.CharField(_("scope"), max_length=5, choices=Scope.choices, default=Scope.READ)
    prefix = models.CharField(
        _("prefix"),
        max_length=8,
        editable=False,
        help_text=_("The first characters of the token, to tell tokens apart."),
    )
    # SHA-256 of the whole token, in hex. A fast hash is right here, unlike for passwords: a
    # token is 32 random bytes (256 bits), so there is nothing to guess from a leaked hash, and
    # a slow hash would only make every API request slow.
    hashed = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "revoked_at"], name="api_token_user_live")]

    def __str__(self) -> str:
        return f"{self.name} (tsk_{self.prefix}…)"

    @property
    def allows_write(self) -> bool:
        return self.scope == self.Scope.WRITE and self.revoked_at is None

    @property
    def is_live(self) -> bool:
        return self.revoked_at is None

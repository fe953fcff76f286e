"""Reads of people used by more than one view or service."""

from allauth.account.models import EmailAddress
from django.db.models import Exists, OuterRef, Q, QuerySet

from members.models import Application, User
from members.roles import Role

MEMBER_SEARCH_LIMIT = 10
MEMBER_SEARCH_MAX_QUERY = 60
# Below this length an e-mail prefix says too little and probes too much.
EMAIL_PREFIX_MIN = 3


def users_with_role_at_least(role: Role, *, among: QuerySet[User] | None = None) -> QuerySet[User]:
    """The users (of `among`, default everyone) for whom User.has_role(role) is true, as a
    query: active, and in the group of `role` or of a higher one, or superusers (who count as
    organisers). The one place that says "role ≥ X" to the database; no join, no duplicates
    (use `.values("pk")` of it as a subquery inside an aggregate)."""
    role = Role(role)
    users = (User.objects.all() if among is None else among).filter(is_active=True)
    if role == Role.AUDIENCE:
        return users  # everyone active is at least in the audience, with or without a group
    names = [higher.value for higher in Role if higher.rank >= role.rank]
    in_group = User.groups.through.objects.filter(user=OuterRef("pk"), group__name__in=names)
    return users.filter(Q(Exists(in_group)) | Q(is_superuser=True))


def verified_members() -> QuerySet[User]:
    """Active, real accounts of the study group (member or above) whose address is verified:
    the people who may present (DOMAIN.md), hence the only ones one can invite."""
    verified = EmailAddress.objects.filter(user=OuterRef("pk"), verified=True)
    return users_with_role_at_least(Role.MEMBER).filter(Exists(verified), is_placeholder=False)


def member_search(*, query: str, exclude: User | None = None) -> list[User]:
    """At most MEMBER_SEARCH_LIMIT verified members whose display name starts with `query`
    (any case), or whose e-mail address does when the query is long enough."""
    query = " ".join((query or "").split())[:MEMBER_SEARCH_MAX_QUERY]
    if not query:
        return []
    match = Q(display_name__istartswith=query)
    if len(query) >= EMAIL_PREFIX_MIN:
        match |= Q(email__istartswith=query)
    people = verified_members().filter(match)
    if exclude is not None:
        people = people.exclude(pk=exclude.pk)
    return list(people.order_by("display_name", "pk")[:MEMBER_SEARCH_LIMIT])


def public_label(user: User) -> str:
    """How a picker names a person to others: the display name and the account number, never
    anything of the e-mail address (User.name falls back to its local part)."""
    name = user.display_name or "—"
    return f"{name} (#{user.pk})"


def applications_waiting(*, now) -> list[tuple[Application, str, object]]:
    """Open applications waiting for the committee, the longest waiting first:
    (application, "review_talk" or "decision", waiting since). A submitted one waits for its
    review talk to be scheduled; one whose review talk has taken place waits for a decision."""
    rows = []
    open_ones = (
        Application.objects.filter(
            Q(status=Application.Status.SUBMITTED)
            | Q(status=Application.Status.REVIEW_SCHEDULED, review_at__lte=now)
        )
        .select_related("applicant")
        .only("id", "status", "paper_title", "review_at", "created_at", "applicant__display_name",
              "applicant__email")
    )  # fmt: skip
    for application in open_ones:
        if application.status == Application.Status.SUBMITTED:
            rows.append((application, "review_talk", application.created_at))
        else:
            rows.append((application, "decision", application.review_at))
    return sorted(rows, key=lambda row: (row[2], row[0].pk))

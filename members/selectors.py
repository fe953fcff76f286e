"""Reads of people used by more than one view or service."""

from allauth.account.models import EmailAddress
from django.db.models import Exists, OuterRef, Q, QuerySet

from members.models import User
from members.roles import Role

MEMBER_SEARCH_LIMIT = 10
MEMBER_SEARCH_MAX_QUERY = 60
# Below this length an e-mail prefix says too little and probes too much.
EMAIL_PREFIX_MIN = 3


def verified_members() -> QuerySet[User]:
    """Active, real accounts of the study group (member or above) whose address is verified:
    the people who may present (DOMAIN.md), hence the only ones one can invite."""
    at_least_member = [Role.MEMBER.value, Role.COMMITTEE.value, Role.ORGANISER.value]
    verified = EmailAddress.objects.filter(user=OuterRef("pk"), verified=True)
    return User.objects.filter(
        Exists(verified),
        Q(groups__name__in=at_least_member) | Q(is_superuser=True),
        is_active=True,
        is_placeholder=False,
    ).distinct()


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

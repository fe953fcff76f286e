"""Placeholder people: names from an imported sheet that have no account yet.

A placeholder is a `User` with `is_placeholder=True`: inactive, no usable password and a
synthetic e-mail address, so it can propose topics, co-present and hold tasks, but cannot log
in. Once the person signs up, an organiser merges the placeholder into the real account."""

import uuid

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from members.models import User
from members.rules import is_organiser
from sessions.models import Participation, Task, Topic

PLACEHOLDER_EMAIL_DOMAIN = "placeholder.invalid"
NAME_MAX_LENGTH = User._meta.get_field("display_name").max_length


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValueError(_("A person needs a name."))
    if len(name) > NAME_MAX_LENGTH:
        raise ValueError(
            _("“%(name)s…” is longer than %(max)d characters.")
            % {"name": name[:NAME_MAX_LENGTH], "max": NAME_MAX_LENGTH}
        )
    # In the sheet "@" means an e-mail address and ";" separates co-presenters, so such a
    # name could not be written back and read again as the same person.
    if "@" in name or ";" in name:
        raise ValueError(_("“%(name)s”: a name cannot contain “@” or “;”.") % {"name": name})
    try:
        # What the profile form and the admin refuse too: control and invisible characters.
        User._meta.get_field("display_name").run_validators(name)
    except ValidationError as error:
        raise ValueError(" ".join(error.messages)) from None
    return name


@transaction.atomic
def placeholder_for(*, name: str) -> User:
    """The placeholder called `name` (whitespace collapsed), created if there is none yet.

    Raises ValueError for an empty or too long name."""
    name = _clean_name(name)
    existing = User.objects.filter(is_placeholder=True, display_name=name).order_by("pk").first()
    if existing is not None:
        return existing
    user = User(
        email=f"placeholder-{uuid.uuid4().hex}@{PLACEHOLDER_EMAIL_DOMAIN}",
        display_name=name,
        is_placeholder=True,
        is_active=False,
    )
    user.set_unusable_password()
    user.save()
    return user


def person_for(*, value: str) -> User:
    """The person a cell of the topic sheet names.

    A value with "@" is the e-mail address of an existing account (any case); anything else is
    a display name: the one account with exactly that name, otherwise a placeholder.
    Raises ValueError (with a message for the user) when no account has that e-mail address
    or the name cannot be a placeholder's."""
    value = " ".join((value or "").split())
    if "@" in value:
        user = User.objects.filter(email__iexact=value).first()
        if user is None:
            raise ValueError(_("No account has the e-mail address “%(email)s”.") % {"email": value})
        return user
    if not value:
        raise ValueError(_("A person needs a name."))
    matches = list(User.objects.filter(display_name=value)[:2])
    if len(matches) == 1:
        return matches[0]
    return placeholder_for(name=value)


@transaction.atomic
def placeholder_merge(*, placeholder: User, into: User, by: User) -> None:
    """Give everything of a placeholder to the real account `into`, then delete the placeholder.

    Moves proposed topics, co-presenter places, group memberships (a membership is dropped where
    `into` is already in that group) and task assignments. Organisers only (PermissionDenied);
    ValueError unless `placeholder` is a placeholder and `into` a real account."""
    if not is_organiser(by):
        raise PermissionDenied(_("Only organisers may merge placeholder people."))
    placeholder = User.objects.select_for_update().get(pk=placeholder.pk)
    if not placeholder.is_placeholder:
        raise ValueError(_("“%(name)s” is not a placeholder.") % {"name": placeholder.name})
    if into.is_placeholder:
        raise ValueError(
            _("“%(name)s” is a placeholder, not a real account.") % {"name": into.name}
        )

    Topic.objects.filter(proposer=placeholder).update(proposer=into)

    co_presenters = Topic.co_presenters.through.objects
    # Where `into` already presents (or now proposes), the placeholder's place just goes.
    co_presenters.filter(user=placeholder).filter(
        Q(topic__proposer=into) | Q(topic_id__in=co_presenters.filter(user=into).values("topic_id"))
    ).delete()
    co_presenters.filter(user=placeholder).update(user=into)

    theirs = {p.topic_id: p for p in Participation.objects.filter(user=into)}
    for participation in Participation.objects.filter(user=placeholder):
        existing = theirs.get(participation.topic_id)
        if existing is None:
            participation.user = into
            participation.save(update_fields=["user"])
            continue
        if participation.role == Participation.Role.PROPOSER:
            # `into` now proposes that topic, so their place in the group is the proposer's.
            existing.role = Participation.Role.PROPOSER
            existing.save(update_fields=["role"])
        participation.delete()

    Task.objects.filter(assignee=placeholder).update(assignee=into)

    from library.models import LibraryItem
    from library.services import items_reindex

    presenting = LibraryItem.presenters.through.objects
    presenting.filter(
        user=placeholder, libraryitem_id__in=presenting.filter(user=into).values("libraryitem_id")
    ).delete()
    moved = list(presenting.filter(user=placeholder).values_list("libraryitem_id", flat=True))
    presenting.filter(user=placeholder).update(user=into)
    placeholder.delete()
    items_reindex(LibraryItem.objects.filter(pk__in=moved))

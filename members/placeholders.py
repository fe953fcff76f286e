"""Placeholder people: names from an imported sheet that have no account yet.

A placeholder is a `User` with `is_placeholder=True`: inactive, no usable password and a
synthetic e-mail address, so it can propose topics, co-present and hold tasks, but cannot log
in. Once the person signs up, an organiser merges the placeholder into the real account."""

import uuid

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from members.models import User
from members.rules import require_perm
from members.signals import duplicate_merged, user_merged, user_merging

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


def user_relations() -> list[models.ForeignKey]:
    """Every foreign key to the user model in the project, from the model graph: those of the
    through tables of many-to-many fields included (groups, co-presenters …), and those that
    hide their reverse accessor (related_name="+")."""
    return [
        relation.field
        for relation in User._meta.get_fields(include_hidden=True)
        if relation.auto_created
        and not relation.concrete
        and (relation.one_to_many or relation.one_to_one)
    ]


def _unique_sets(field: models.ForeignKey) -> list[tuple[list[str], Q | None, bool]]:
    """(fields, condition, nulls distinct) of every uniqueness rule of the field's model that
    includes the field."""
    meta = field.model._meta
    sets: list[tuple[list[str], Q | None, bool]] = []
    if field.unique:
        sets.append(([field.name], None, True))
    sets += [(list(names), None, True) for names in meta.unique_together if field.name in names]
    for constraint in meta.constraints:
        if not isinstance(constraint, models.UniqueConstraint):
            continue
        if constraint.expressions:
            # Not read here: refuse rather than guess (a new constraint needs a look).
            raise ValueError(f"{meta.label}: cannot merge through {constraint.name}")
        if field.name in constraint.fields:
            distinct = constraint.nulls_distinct is not False
            sets.append((list(constraint.fields), constraint.condition, distinct))
    return sets


def _twin(row: models.Model, field: models.ForeignKey, into: User) -> models.Model | None:
    """The row of `into` that `row` would duplicate under a uniqueness rule once it names
    `into`, or None."""
    manager = field.model._base_manager
    for names, condition, nulls_distinct in _unique_sets(field):
        others = {
            name: getattr(row, field.model._meta.get_field(name).attname)
            for name in names
            if name != field.name
        }
        if nulls_distinct and any(value is None for value in others.values()):
            continue  # NULLs never collide
        if condition is not None and not manager.filter(condition, pk=row.pk).exists():
            continue  # the rule does not cover this row
        twins = manager.filter(**{field.name: into}, **others).exclude(pk=row.pk)
        twin = (twins.filter(condition) if condition is not None else twins).first()
        if twin is not None:
            return twin
    return None


def _delete_alone(row: models.Model) -> None:
    """Delete `row`, refusing (ValueError, the merge rolls back) if anything cascades with it."""
    deleted, by_model = row.delete()
    if deleted != 1:
        raise ValueError(
            _("Merging would delete more than the duplicate: %(rows)s")
            % {"rows": ", ".join(f"{label} × {count}" for label, count in by_model.items())}
        )


def _merge_relation(field: models.ForeignKey, placeholder: User, into: User) -> None:
    for row in field.model._base_manager.filter(**{field.name: placeholder}).order_by("pk"):
        twin = _twin(row, field, into)
        if twin is None:
            # update(), not save(): a plain move, without save() side effects or auto_now.
            field.model._base_manager.filter(pk=row.pk).update(**{field.name: into})
        else:
            duplicate_merged.send(sender=field.model, kept=twin, dropped=row)
            _delete_alone(row)


# Our apps below members (and members itself): their rows are moved here. Every other app of
# ours sits above members and moves its own, on user_merging.
_BELOW_MEMBERS = {"members", "topicshare.core", "topicshare.notifications"}
_OURS = {"topicshare", "members", "sessions", "library"}


def _moved_here(field: models.ForeignKey) -> bool:
    app = field.model._meta.app_config.name
    return app in _BELOW_MEMBERS or app.split(".")[0] not in _OURS


def user_rows_move(*, app_label: str, placeholder: User, into: User) -> str:
    """Move the rows of one app (its foreign keys to the user) from `placeholder` to `into`,
    for that app's receiver of `user_merging`. Returns the app label (what the receiver
    returns)."""
    for field in user_relations():
        if field.model._meta.app_label == app_label:
            _merge_relation(field, placeholder, into)
    return app_label


@transaction.atomic
def placeholder_merge(*, placeholder: User, into: User, by: User) -> None:
    """Give everything of a placeholder to the real account `into`, then delete the placeholder.

    Every foreign key to the user model (user_relations(): proposed topics, co-presenter
    places, group memberships, session presenter rows, tasks, RSVPs, library items, history …)
    is moved to `into`: each app above members moves its own on `user_merging`, members the
    rest. Where `into` already has the same row under a unique constraint (both
    in one group, both RSVP'd to one session), the placeholder's row goes (`duplicate_merged`
    lets its app carry something over first). Then `user_merged` lets the apps repair what the
    database does not enforce. If deleting the placeholder would still take anything with it,
    the merge is refused (ValueError) and nothing changes.

    Organisers only (PermissionDenied); ValueError unless `placeholder` is a placeholder and
    `into` a real account."""
    require_perm(
        by, "members.merge_placeholders", message=_("Only organisers may merge placeholder people.")
    )
    placeholder = User.objects.select_for_update().get(pk=placeholder.pk)
    if not placeholder.is_placeholder:
        raise ValueError(_("“%(name)s” is not a placeholder.") % {"name": placeholder.name})
    if into.is_placeholder:
        raise ValueError(
            _("“%(name)s” is a placeholder, not a real account.") % {"name": into.name}
        )
    # The apps above members move their own rows; members moves those of the apps below it
    # and of Django and allauth. Deleting the placeholder refuses anything left behind.
    user_merging.send(sender=User, placeholder=placeholder, into=into)
    for field in user_relations():
        if _moved_here(field):
            _merge_relation(field, placeholder, into)
    user_merged.send(sender=User, placeholder_pk=placeholder.pk, into=into)
    _delete_alone(placeholder)

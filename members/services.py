from django.contrib.auth.models import Group
from django.db import transaction

from members.models import User
from members.roles import ROLE_NAMES, STAFF_ROLES, Role, RoleChangeCause
from members.signals import role_changed


@transaction.atomic
def role_set(
    *, user: User, role: Role, by: User | None = None, cause: RoleChangeCause | None = None
) -> User:
    """Put `user` in exactly one role group. Committee and organisers get admin access
    (is_staff); others lose it unless they are superusers.

    A change of role is recorded in the audit trail with `by` (None: the forum itself) and
    told to the apps above with `role_changed` (`cause`: why; a change `by` someone without
    one is a change by hand)."""
    role = Role(role)
    previous = user.role
    # get_or_create: the data migration makes them, but a flushed database must still work.
    group, _created = Group.objects.get_or_create(name=role.value)
    user.groups.remove(*Group.objects.filter(name__in=ROLE_NAMES).exclude(pk=group.pk))
    user.groups.add(group)
    is_staff = role in STAFF_ROLES or user.is_superuser
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])
    user.__dict__.pop("role", None)
    user.__dict__.pop("role_group_names", None)  # read with the row: no longer true
    if previous != role:
        from members.models import AuditEvent

        audit = AuditEvent.objects.create(
            actor=by,
            action=AuditEvent.Action.ROLE_CHANGED,
            subject_user=user,
            details={"from": previous.value, "to": role.value},
        )
        if cause is None and by is not None:
            cause = RoleChangeCause.BY_HAND
        role_changed.send(sender=User, user=user, previous=previous, role=role, by=by, cause=cause)
        if previous == Role.AUDIENCE and role == Role.MEMBER:
            from topicshare.notifications.outgoing import webhook_event_emit

            # Public fields only: no e-mail, no WeChat ID.
            webhook_event_emit(
                event_type="member.admitted",
                data={"id": user.pk, "display_name": user.display_name},
                key=f"member.admitted:{user.pk}:{audit.pk}",
            )
    return user


def user_start_as_audience(*, user: User) -> User:
    """Every sign-up starts in the open audience group."""
    return role_set(user=user, role=Role.AUDIENCE)


def profile_update(*, user: User, language: str | None = None) -> User:
    """Remember the language a signed-in user picked, so it follows them across devices."""
    if language is not None and language != user.preferred_language:
        user.preferred_language = language
        user.save(update_fields=["preferred_language"])
    return user

"""The one place that says who may do what. Views, templates ({% load rules %}) and the
admin all ask these predicates, through permissions or directly."""

import rules

from members.roles import Role


@rules.predicate
def is_audience(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active)


def _role_at_least(role: Role):
    @rules.predicate(name=f"is_{role.value.lower()}")
    def predicate(user) -> bool:
        return is_audience(user) and user.has_role(role)

    return predicate


is_member = _role_at_least(Role.MEMBER)
is_committee = _role_at_least(Role.COMMITTEE)
is_organiser = _role_at_least(Role.ORGANISER)


@rules.predicate
def is_self(user, other) -> bool:
    return other is not None and is_audience(user) and user.pk == other.pk


# Permission names follow Django's "<app_label>.<action>_<thing>".
rules.add_perm("members.view_profile", is_audience)
rules.add_perm("members.view_wechat_id", is_self | is_organiser)
rules.add_perm("members.change_role", is_organiser)
rules.add_perm("topicshare.access_admin", is_committee)

# Admission: the committee (and organisers) review applications in the admin.
rules.add_perm("members.view_application", is_committee)
rules.add_perm("members.change_application", is_committee)

# The end-of-season review and the dashboard: organisers only.
rules.add_perm("members.review_season", is_organiser)

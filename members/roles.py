from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    """The forum's gradient (梯度). Each role includes what the ones before it may do.

    The values are the names of the auth groups that carry them."""

    AUDIENCE = "Audience", _("Audience")
    MEMBER = "Member", _("Member")
    COMMITTEE = "Committee", _("Committee")
    ORGANISER = "Organiser", _("Organiser")

    @property
    def rank(self) -> int:
        return list(Role).index(self)


ROLE_NAMES = [role.value for role in Role]
# Roles that work in the Django admin (committee: admissions only; organisers: everything).
STAFF_ROLES = {Role.COMMITTEE, Role.ORGANISER}


class RoleChangeCause(models.TextChoices):
    """Why a role changed, as role_set() tells the `role_changed` signal's receivers."""

    ADMISSION = "admission", _("admitted by the committee")
    SEASON_REMOVAL = "season_removal", _("moved to the audience at the season's end")
    BY_HAND = "by_hand", _("role changed by an organiser")

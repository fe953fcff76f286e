from members.rules import is_committee, is_organiser


class RoleBackend:
    """Organisers may do everything in the admin, as DOMAIN.md says, without per-model grants.

    Other roles get their permissions from members/rules.py (django-rules' backend) and from
    explicit group permissions (the committee's admission section)."""

    def authenticate(self, request, **credentials):
        return None

    def has_perm(self, user_obj, perm: str, obj=None) -> bool:
        # Permissions registered with django-rules never get here: User.has_perm asks only
        # their rule (the secret ballot's among them), organisers or not.
        return is_organiser(user_obj)

    def has_module_perms(self, user_obj, app_label: str) -> bool:
        # The committee sees the admission section (in "members") and nothing else.
        return is_organiser(user_obj) or (app_label == "members" and is_committee(user_obj))

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MembersConfig(AppConfig):
    name = "members"
    verbose_name = _("Members")
    default_auto_field = "django.db.models.BigAutoField"
    # What anonymous (cached) pages show of this app: a change bumps the page cache
    # (topicshare/core/pagecache.py). A person's name only (User.name: the display name, else the
    # e-mail's first part); not a login, a language, a role, votes or applications.
    public_models = ("User.display_name", "User.email")
    # A member's groups are their role: what members-only content they see.
    public_relations = ("User.groups",)

    def ready(self):
        from members import personal_data  # noqa: F401 — the rules of a member's own data

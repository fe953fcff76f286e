from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ForumConfig(AppConfig):
    """The site's own pages over every feature: home, join, dashboard, demo data, the forum's
    settings. The top of the dependency order: nothing imports it."""

    name = "topicshare.forum"
    label = "forum"
    verbose_name = _("Forum")
    default_auto_field = "django.db.models.BigAutoField"
    # What anonymous (cached) pages show of this app: a change bumps the page cache
    # (topicshare/core/pagecache.py). The forum's name, slogan and join instructions.
    public_models = ("ForumSettings",)

    def ready(self):
        from topicshare.core.fragments import personal_hole, register_personal_template
        from topicshare.forum import (
            personal_data,  # noqa: F401 — a member's own data
            receivers,  # noqa: F401 — connects the receivers
        )
        from topicshare.forum.inbox import cached_inbox_count

        # base.html's holes: the name and role (`user`, which every hole has) and what waits
        # in the inbox (one cache read, for whoever sees the inbox link).
        register_personal_template("_nav_user.html")
        personal_hole("_inbox_count.html")(lambda request, arg: {"inbox_count": cached_inbox_count})

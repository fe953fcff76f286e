from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ForumConfig(AppConfig):
    """The site's own pages over every feature: home, join, dashboard, demo data, the forum's
    settings. The top of the dependency order: nothing imports it."""

    name = "topicshare.forum"
    label = "forum"
    verbose_name = _("Forum")
    default_auto_field = "django.db.models.BigAutoField"

from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class TopicShareConfig(AppConfig):
    """Shared infrastructure: uploads, markup, limits, page cache, JSON API helpers, health.
    Imports no feature app. Keeps the label (and tables) of the project's first app."""

    name = "topicshare.core"
    label = "topicshare"
    verbose_name = _("Site infrastructure")
    default_auto_field = "django.db.models.BigAutoField"
    # What no page shows: a change leaves the data version alone (pagecache.data_changed).
    quiet_models = ("Heartbeat", "ContentVersion")

    def ready(self):
        from django.db.models.signals import pre_save

        from topicshare.core.limits import refuse_overlong_text
        from topicshare.core.pagecache import connect_public_models

        pre_save.connect(refuse_overlong_text, dispatch_uid="limits-refuse-overlong-text")
        # Every app's public_models (all models are loaded when ready() runs).
        connect_public_models()


class TopicShareAdminConfig(admin_apps.AdminConfig):
    """The admin, with a site that signs in through allauth (topicshare/core/admin_site.py)."""

    default = False  # TopicShareConfig stays this module's default

    default_site = "topicshare.core.admin_site.TopicShareAdminSite"

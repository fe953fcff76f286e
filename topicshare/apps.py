from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class TopicShareConfig(AppConfig):
    name = "topicshare"
    verbose_name = _("Forum")
    default_auto_field = "django.db.models.BigAutoField"
    # What anonymous (cached) pages show of this app: a change bumps the page cache
    # (topicshare/pagecache.py). The forum's name, slogan and join instructions.
    public_models = ("ForumSettings",)

    def ready(self):
        from django.db.models.signals import pre_save

        from topicshare.limits import refuse_overlong_text
        from topicshare.pagecache import connect_public_models

        pre_save.connect(refuse_overlong_text, dispatch_uid="limits-refuse-overlong-text")
        connect_public_models()  # every app's public_models (all models are loaded by now)


class TopicShareAdminConfig(admin_apps.AdminConfig):
    """The admin, with a site that signs in through allauth (topicshare/admin_site.py)."""

    default = False  # TopicShareConfig stays this module's default

    default_site = "topicshare.admin_site.TopicShareAdminSite"

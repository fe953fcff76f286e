from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class TopicShareConfig(AppConfig):
    name = "topicshare"
    verbose_name = _("Forum")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

        from topicshare.limits import refuse_overlong_text
        from topicshare.pagecache import content_changed

        pre_save.connect(refuse_overlong_text, dispatch_uid="limits-refuse-overlong-text")

        for signal in (post_save, post_delete, m2m_changed):
            signal.connect(content_changed, dispatch_uid=f"pagecache-{id(signal)}")


class TopicShareAdminConfig(admin_apps.AdminConfig):
    """The admin, with a site that signs in through allauth (topicshare/admin_site.py)."""

    default = False  # TopicShareConfig stays this module's default

    default_site = "topicshare.admin_site.TopicShareAdminSite"

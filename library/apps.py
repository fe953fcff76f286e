from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LibraryConfig(AppConfig):
    name = "library"
    verbose_name = _("Library")
    default_auto_field = "django.db.models.BigAutoField"
    # What anonymous (cached) pages show of this app: a change bumps the page cache
    # (topicshare/core/pagecache.py). Items with their presenters and tags; not the open-source
    # page, which is not cached. The search vocabulary: the list says what else it searched.
    public_models = ("LibraryItem", "Tag", "Concept", "Term")

    def ready(self):
        from library import (
            personal_data,  # noqa: F401 — a member's own data
            signals,  # noqa: F401 — connects the receivers
        )

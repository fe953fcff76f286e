from django import forms
from django.contrib import admin
from django.db import models
from django.urls import path
from django.utils.translation import gettext_lazy as _

from library.models import Concept, LibraryItem, OpenSourceProject, Tag, Term
from library.services import items_reindex
from library.vocabulary import term_key


class ChildInline(admin.TabularInline):
    model = LibraryItem
    fk_name = "parent"
    extra = 0
    fields = ["title", "kind", "paper_url", "position"]
    verbose_name = _("related paper")
    verbose_name_plural = _("related papers")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(LibraryItem)
class LibraryItemAdmin(admin.ModelAdmin):
    list_display = ["title", "kind", "season", "domain", "visibility", "parent", "created_at"]
    list_filter = ["kind", "visibility", "season", "domain", "tags"]
    search_fields = ["title", "sub_theme", "presenters__display_name", "source_key"]
    list_select_related = ["season", "domain", "parent"]
    autocomplete_fields = ["presenters", "parent", "session"]
    filter_horizontal = ["tags"]
    readonly_fields = ["source_file", "source_key", "created_at", "updated_at"]
    inlines = [ChildInline]
    change_list_template = "admin/library/libraryitem/change_list.html"
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_urls(self):
        from library.admin_import import import_view

        return [
            path(
                "import/",
                self.admin_site.admin_view(lambda request: import_view(request, self.admin_site)),
                name="library_libraryitem_import",
            ),
            *super().get_urls(),
        ]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        items_reindex([form.instance, *form.instance.children.all()])


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(OpenSourceProject)
class OpenSourceProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "url", "position"]
    list_editable = ["position"]
    filter_horizontal = ["maintainers"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


class TermFormSet(forms.models.BaseInlineFormSet):
    """Two rows of one concept with the same name (in whatever case or spacing) would fail
    on the database's constraint: said here, on the form, instead."""

    def clean(self):
        super().clean()
        seen = set()
        for form in self.forms:
            if not form.cleaned_data or form.cleaned_data.get("DELETE"):
                continue
            key = term_key(form.cleaned_data.get("text", ""))
            if key in seen:
                form.add_error("text", _("The concept already has this name."))
            seen.add(key)


class TermInline(admin.TabularInline):
    model = Term
    formset = TermFormSet
    extra = 3
    fields = ["text", "kind"]


@admin.register(Concept)
class ConceptAdmin(admin.ModelAdmin):
    """The search vocabulary (library/vocabulary.py). Saving marks the concept edited, so
    that `manage.py vocabulary_load` keeps it."""

    list_display = ["key", "area", "names", "edited", "updated_at"]
    list_filter = ["area", "edited"]
    search_fields = ["key", "terms__text", "note"]
    readonly_fields = ["edited", "updated_at"]
    inlines = [TermInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("terms")

    @admin.display(description=_("names"))
    def names(self, concept):
        return " / ".join(term.text for term in concept.terms.all())[:200]

    def save_model(self, request, obj, form, change):
        obj.edited = True
        super().save_model(request, obj, form, change)

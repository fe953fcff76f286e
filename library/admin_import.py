"""The library's import page in the admin. Wired in by LibraryItemAdmin.get_urls as
`admin:library_libraryitem_import`."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from library.importers.base import ImportFailed
from library.importers.detect import MAX_BYTES, import_library, too_big_message
from library.models import LibraryItem


class LibraryImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy("Markdown or JSON, UTF-8 or GBK, at most 20 MB."),
    )
    format = forms.ChoiceField(
        label=gettext_lazy("Format"),
        choices=[
            ("auto", gettext_lazy("Tell from the file")),
            ("topic-archive", gettext_lazy("The forum's Topic archive (markdown)")),
            ("reading-list", gettext_lazy("Reading list: headings and links (markdown)")),
            ("zhihu", gettext_lazy("Zhihu column export (JSON)")),
        ],
        initial="auto",
    )
    base_url = forms.URLField(
        label=gettext_lazy("Base URL"),
        required=False,
        assume_scheme="https",
        help_text=gettext_lazy(
            "Relative links in the file are resolved against this address, e.g. the "
            "repository the file comes from."
        ),
    )
    dry_run = forms.BooleanField(
        label=gettext_lazy("Dry run: check the file and show what would change, save nothing"),
        required=False,
        initial=True,
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError(too_big_message(), code="too_big")
        return upload


def import_view(request, admin_site) -> TemplateResponse:
    """Upload an archive; shows the import's report on the same page."""
    if not request.user.has_perm("library.import_items"):
        raise PermissionDenied(_("Only organisers may import into the library."))
    report = None
    if request.method == "POST":
        form = LibraryImportForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                report = import_library(
                    data=upload.read(),
                    name=upload.name,
                    fmt=form.cleaned_data["format"],
                    base_url=form.cleaned_data["base_url"],
                    dry_run=form.cleaned_data["dry_run"],
                )
            except ImportFailed as exc:
                form.add_error("file", str(exc))
            else:
                if not report.dry_run:
                    messages.success(
                        request, _("Imported: %(summary)s.") % {"summary": report.summary}
                    )
    else:
        form = LibraryImportForm()
    try:
        changelist_url = reverse(f"{admin_site.name}:library_libraryitem_changelist")
    except NoReverseMatch:
        changelist_url = None
    context = {
        **admin_site.each_context(request),
        "title": _("Import into the library"),
        "opts": LibraryItem._meta,
        "form": form,
        "report": report,
        "changelist_url": changelist_url,
    }
    return TemplateResponse(request, "admin/library/libraryitem/import.html", context)

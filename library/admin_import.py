"""The library's import page in the admin. Wired in by LibraryItemAdmin.get_urls as
`admin:library_libraryitem_import`."""

from django import forms
from django.utils.translation import gettext_lazy

from library.importers.detect import LIMITS, import_library
from library.models import LibraryItem
from topicshare.core.imports import AdminImportPage, ImportReport, ImportUploadForm


class LibraryImportForm(ImportUploadForm):
    limits = LIMITS
    field_order = ["file", "format", "base_url", "dry_run"]

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


def _run(form: LibraryImportForm, user) -> ImportReport:
    upload = form.cleaned_data["file"]
    return import_library(
        data=upload.read(),
        name=upload.name,
        fmt=form.cleaned_data["format"],
        base_url=form.cleaned_data["base_url"],
        dry_run=form.cleaned_data["dry_run"],
    )


# Upload an archive; shows the import's report on the same page.
import_view = AdminImportPage(
    permission="library.import_items",
    forbidden=gettext_lazy("Only organisers may import into the library."),
    form_class=LibraryImportForm,
    run=_run,
    model=LibraryItem,
    title=gettext_lazy("Import into the library"),
    intro=gettext_lazy(
        "Three kinds of file can be imported: the forum's Topic archive (markdown with "
        "<code>### Topic 5</code> and <code>#### Topic 5 &gt;&gt; domain</code> headings), a "
        "reading list (markdown: headings are categories, each list item is an article with "
        "its link and comment) and a Zhihu column export (JSON). Importing a corrected version "
        "of the same file updates its items instead of adding them again."
    ),
)

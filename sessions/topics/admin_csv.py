"""CSV export and import views for the Topic admin (wired in by TopicAdmin.get_urls). The
import page is the import foundation's (topicshare/core/imports.py)."""

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sessions.topics.csv_io import LIMITS, topics_export_csv, topics_import_csv
from sessions.topics.models import Topic
from topicshare.core.imports import AdminImportPage, ImportReport, ImportUploadForm


def export_view(request, queryset) -> HttpResponse:
    """The topics in `queryset` as a CSV download that Excel opens correctly (BOM first)."""
    if not request.user.has_perm("topic_sessions.export_topics"):
        raise PermissionDenied(_("Only organisers may export topics."))
    filename = f"topics-{timezone.localdate():%Y%m%d}.csv"
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    topics_export_csv(topics=queryset, out=response)
    return response


class TopicImportForm(ImportUploadForm):
    limits = LIMITS

    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy("UTF-8 (with or without BOM) or GBK, at most 5 MB."),
    )


def _run(form: TopicImportForm, user) -> ImportReport:
    return topics_import_csv(
        data=form.cleaned_data["file"].read(), by=user, dry_run=form.cleaned_data["dry_run"]
    )


# Upload a topic sheet; shows the import's report on the same page.
import_view = AdminImportPage(
    permission="topic_sessions.import_topics",
    forbidden=gettext_lazy("Only organisers may import topics."),
    form_class=TopicImportForm,
    run=_run,
    model=Topic,
    title=gettext_lazy("Import topics from CSV"),
    intro=gettext_lazy(
        "The first line names the columns; <code>title</code>, <code>track</code> and "
        "<code>proposer</code> are required. A row with an <code>id</code> updates that topic, "
        "a row without one creates a topic. If any row has an error, nothing is saved."
    ),
)

"""CSV export and import views for the Topic admin (wired in by TopicAdmin.get_urls)."""

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from sessions.csv_io import MAX_BYTES, too_big_message, topics_export_csv, topics_import_csv
from sessions.models import Topic


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


class TopicImportForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("CSV file"),
        help_text=gettext_lazy("UTF-8 (with or without BOM) or GBK, at most 5 MB."),
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
    """Upload a topic sheet; shows the import's report on the same page."""
    if not request.user.has_perm("topic_sessions.import_topics"):
        raise PermissionDenied(_("Only organisers may import topics."))
    report = None
    if request.method == "POST":
        form = TopicImportForm(request.POST, request.FILES)
        if form.is_valid():
            report = topics_import_csv(
                data=form.cleaned_data["file"].read(),
                by=request.user,
                dry_run=form.cleaned_data["dry_run"],
            )
            if report.saved:
                messages.success(request, _("Imported: %(counts)s.") % {"counts": report.counts})
    else:
        form = TopicImportForm()
    try:
        changelist_url = reverse(f"{admin_site.name}:topic_sessions_topic_changelist")
    except NoReverseMatch:
        changelist_url = None
    context = {
        **admin_site.each_context(request),
        "title": _("Import topics from CSV"),
        "opts": Topic._meta,
        "form": form,
        "report": report,
        "changelist_url": changelist_url,
    }
    return TemplateResponse(request, "admin/topic_sessions/topic/import_csv.html", context)

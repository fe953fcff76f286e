"""The study group checklist for organisers (/staff/onboarding/) and the study group's QR code
for members (/study-group/qr/): see onboarding.py."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe

from topicshare.core.fragments import personal_page
from topicshare.core.uploads import serve_image
from topicshare.forum.models import ForumSettings, GroupChange
from topicshare.forum.onboarding import (
    DONE_SHOWN_DAYS,
    GroupChangeError,
    group_change_tick,
    group_changes_checklist,
)


@login_required
@require_safe
@personal_page(params=("done",))
def onboarding(request):
    """Organisers: who to add to the study group's WeChat group and who to remove, each
    ticked off when done; `?done=1` shows the rows done lately too."""
    if not request.user.has_perm("forum.manage_group_changes"):
        raise PermissionDenied
    show_done = request.GET.get("done") == "1"
    checklist = group_changes_checklist(show_done=show_done, now=timezone.now())
    return render(
        request,
        "staff/onboarding.html",
        {"checklist": checklist, "done_days": DONE_SHOWN_DAYS},
    )


@login_required
@require_POST
def onboarding_tick(request, pk: int):
    """Tick a row off (`done=1`) or undo the tick (`done=0`), back to the checklist."""
    if not request.user.has_perm("forum.manage_group_changes"):
        raise PermissionDenied
    change = get_object_or_404(GroupChange.objects.select_related("user"), pk=pk)
    done = request.POST.get("done") == "1"
    try:
        group_change_tick(change=change, by=request.user, done=done)
    except GroupChangeError as error:
        messages.error(request, str(error))
    else:
        if done:
            message = (
                _("Ticked off: %(name)s is in the study group.")
                if change.change == GroupChange.Change.ADD
                else _("Ticked off: %(name)s is out of the study group.")
            )
        else:
            message = _("Undone: %(name)s is back on the list.")
        messages.success(request, message % {"name": change.user.name})
    url = reverse("onboarding")
    if request.POST.get("show_done") == "1":
        url += "?done=1"
    return redirect(f"{url}#change-{change.pk}")


@login_required
@require_safe
def study_group_qr(request):
    """The study group's QR code image, for members (and above) only: it is not under
    /media/, and browsers keep it privately."""
    if not request.user.has_perm("forum.view_study_group"):
        raise PermissionDenied
    return serve_image(request, ForumSettings.cached(request).study_group_qr)

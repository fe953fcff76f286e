import functools

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.functional import SimpleLazyObject
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from sessions.topics.filters import TopicFilter
from sessions.topics.forms import TaskForm, TaskMoveForm, TopicForm, TopicGroupForm, TransitionForm
from sessions.topics.holes import viewer_context
from sessions.topics.models import CoPresenterInvitation, Task, Topic, TopicStatus
from sessions.topics.notices import topic_cancel_recipients
from sessions.topics.selectors import CLOSED_STATUSES, topic_list
from sessions.topics.selectors import topic_detail as select_topic
from sessions.topics.services import (
    TRANSITIONS,
    TopicError,
    group_join,
    group_leave,
    invitation_answer,
    task_claim,
    task_create,
    task_finish,
    task_update,
    topic_interest_set,
    topic_propose,
    topic_transition,
    topic_update,
    transition_check,
    waitlist_join,
    waitlist_leave,
)
from topicshare.core.confirm import Confirmation, confirmation_page, confirmed
from topicshare.core.fragments import kept_under_versions, per_request, personal_page
from topicshare.core.markup import render_markdown
from topicshare.core.pagecache import data_version_for, public_page
from topicshare.core.uploads import serve_image

PAGE_SIZE = 50


def _get_topic(pk: int) -> Topic:
    try:
        return select_topic(pk=pk)
    except Topic.DoesNotExist:
        raise Http404 from None


def _topic_page(pk: int) -> tuple[Topic, object]:
    topic = _get_topic(pk)
    # A scheduled (or presented) topic links to its session: the one scheduled last (a
    # slipped session keeps its row; a postponed one is replaced by a newer one).
    session = (
        topic.sessions.order_by("-created_at", "-id").first()
        if topic.status in (TopicStatus.SCHEDULED, TopicStatus.PRESENTED)
        else None
    )
    return topic, session


def _form_errors_from(error: ValidationError, form) -> None:
    """Put a service's ValidationError back on the form it came from."""
    if hasattr(error, "error_dict"):
        for field, errors in error.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)


@public_page(params=(*TopicFilter.base_filters, "page"), signed_in=True)
def topic_sheet(request):
    # Lazy: when the sheet's fragment is cached, neither the filter form nor the count nor the
    # rows are built.
    listing = functools.cache(lambda: topic_list(filters=request.GET, hide_closed=True))
    topic_filter = SimpleLazyObject(lambda: listing()[0])
    page = SimpleLazyObject(
        lambda: Paginator(listing()[1], PAGE_SIZE).get_page(request.GET.get("page"))
    )
    query = request.GET.copy()
    query.pop("page", None)
    closed = QueryDict(mutable=True)
    closed.setlist("status", list(CLOSED_STATUSES))
    return render(
        request,
        "sessions/topic_sheet.html",
        {
            "filter": topic_filter,
            "page": page,
            "query": query.urlencode(),
            "closed_hidden": not request.GET.getlist("status"),
            "closed_query": closed.urlencode(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def topic_new(request):
    form = TopicForm(request.POST if request.method == "POST" else None)
    preview = None
    if request.method == "POST" and form.is_valid():
        if "preview" in request.POST:
            preview = render_markdown(form.cleaned_data["summary"])
        else:
            try:
                topic = topic_propose(proposer=request.user, **form.service_kwargs())
            except ValidationError as error:
                _form_errors_from(error, form)
            except TopicError as error:
                form.add_error(None, str(error))
            else:
                messages.success(
                    request, _("Your topic is on the sheet. An organiser will review it.")
                )
                return redirect("topics:detail", pk=topic.pk)
    elif request.method == "POST" and "preview" in request.POST and "summary" in form.cleaned_data:
        # The rest of the form may be unfinished; the summary itself is within its limit.
        preview = render_markdown(form.cleaned_data["summary"])
    return render(request, "sessions/topic_form.html", {"form": form, "preview": preview})


@public_page(signed_in="person")
def topic_detail(request, pk: int):
    topic, session = kept_under_versions(request, f"topic-page:{pk}", lambda: _topic_page(pk))
    # What is mine on the page (an invitation, join/leave, my actions) is in holes,
    # sessions/topics/holes.py; they read this same topic.
    per_request(request, f"topic:{topic.pk}", lambda: viewer_context(request, topic))
    # The page's body is a fragment under the data version too: it shows the group and the
    # tasks, which are not public content.
    context = {"topic": topic, "session": session, "data_version": data_version_for(request)}
    return render(request, "sessions/topic_detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def topic_edit(request, pk: int):
    topic = _get_topic(pk)
    if not request.user.has_perm("topic_sessions.change_topic", topic):
        raise PermissionDenied
    form = TopicForm(request.POST if request.method == "POST" else None, instance=topic)
    if request.method == "POST" and form.is_valid():
        kwargs = form.service_kwargs()
        try:
            topic_update(
                topic=Topic.objects.get(pk=topic.pk),
                by=request.user,
                co_presenters=kwargs.pop("co_presenters"),
                **kwargs,
            )
        except ValidationError as error:
            _form_errors_from(error, form)
        except TopicError as error:
            form.add_error(None, str(error))
        else:
            messages.success(request, _("The topic is saved."))
            return redirect("topics:detail", pk=topic.pk)
    return render(request, "sessions/topic_form.html", {"form": form, "topic": topic})


def _transition_confirmation(topic: Topic, to: str, reason: str, by) -> Confirmation:
    """What rejecting, withdrawing or cancelling a topic does, and who hears of it (the
    notices of sessions.topics.notices and, for a scheduled topic, of its session)."""
    reason = " ".join(reason.split())
    presenters = _(", ").join(
        person.name for person in [topic.proposer, *topic.co_presenters.all()]
    )
    back = reverse("topics:detail", args=[topic.pk])
    if to == TopicStatus.REJECTED:
        return Confirmation(
            title=_("Reject “%(title)s”?") % {"title": topic.title},
            button=_("Yes, reject the topic"),
            happens=[
                _("The topic is marked “not accepted” and leaves the active sheet."),
                _("It cannot be reopened."),
                _("Reason: %(reason)s") % {"reason": reason},
            ],
            told=[_("%(names)s: an e-mail with your reason.") % {"names": presenters}],
            back_url=back,
        )
    if to == TopicStatus.WITHDRAWN:
        return Confirmation(
            title=_("Withdraw “%(title)s”?") % {"title": topic.title},
            button=_("Yes, withdraw it"),
            happens=[
                _("The topic is withdrawn: the organisers no longer review it."),
                _("You can reopen it later on this page."),
            ],
            back_url=back,
        )
    happens = [_("The topic is cancelled for good: it cannot be reopened.")]
    told = []
    if topic.status == TopicStatus.SCHEDULED:
        happens.append(
            _(
                "Its session is cancelled: the slot is free again, calendars show it as "
                "cancelled and its reminders stop."
            )
        )
        told.append(
            _(
                "%(names)s, the participant group (%(count)d) and everyone who RSVP'd: a "
                "notice that the session is cancelled."
            )
            % {"names": presenters, "count": topic.participant_count}
        )
    else:
        if topic.participant_count:
            happens.append(
                _("The participant group (%(count)d) closes; its tasks stay as they are.")
                % {"count": topic.participant_count}
            )
        names = [person.name for person in topic_cancel_recipients(topic, by=by).order_by("pk")]
        if names:
            told.append(
                _("%(names)s: an e-mail that the topic is cancelled, with your reason.")
                % {"names": _(", ").join(names[:8]) + ("…" if len(names) > 8 else "")}
            )
    happens.append(_("Reason: %(reason)s") % {"reason": reason})
    return Confirmation(
        title=_("Cancel “%(title)s”?") % {"title": topic.title},
        button=_("Yes, cancel the topic"),
        happens=happens,
        told=told,
        back_url=back,
    )


@login_required
@require_POST
def topic_transition_view(request, pk: int):
    topic = get_object_or_404(Topic, pk=pk)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("The request was incomplete; nothing changed."))
        return redirect("topics:detail", pk=pk)
    to, reason = form.cleaned_data["to"], form.cleaned_data["reason"]
    transition = TRANSITIONS.get((topic.status, to))
    if transition is not None and transition.confirm and not confirmed(request):
        # Asked once, after the same checks as the step itself: nothing changes here.
        try:
            transition_check(topic=topic, to=to, by=request.user, reason=reason, now=timezone.now())
        except TopicError as error:
            messages.error(request, str(error))
            return redirect("topics:detail", pk=pk)
        return confirmation_page(
            request,
            _transition_confirmation(_get_topic(pk), to, reason, request.user),
            carry={"to", "reason"},
        )
    try:
        topic = topic_transition(
            topic=topic,
            to=to,
            by=request.user,
            reason=reason,
        )
    except TopicError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request, _("The topic is now “%(status)s”.") % {"status": topic.get_status_display()}
        )
    return redirect("topics:detail", pk=pk)


@login_required
@require_POST
def group_join_view(request, pk: int):
    topic = get_object_or_404(Topic, pk=pk)
    try:
        group_join(topic=topic, user=request.user)
    except TopicError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("You joined the group."))
        return redirect("topics:group", pk=pk)
    return redirect("topics:detail", pk=pk)


@login_required
@require_POST
def topic_interest_view(request, pk: int):
    """“想听” and taking it back: `want` says which, so a double tap changes nothing more."""
    topic = get_object_or_404(Topic, pk=pk)
    want = request.POST.get("want") == "1"
    try:
        topic_interest_set(topic=topic, user=request.user, want=want)
    except TopicError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("Noted: you want to hear it. You hear first when it recruits and is scheduled.")
            if want
            else _("Taken back: you no longer say you want to hear it."),
        )
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect("topics:detail", pk=pk)


@login_required
@require_POST
def waitlist_join_view(request, pk: int):
    topic = get_object_or_404(Topic, pk=pk)
    try:
        position = waitlist_join(topic=topic, user=request.user)
    except TopicError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("You are number %(position)d on the waitlist. When a place comes free, the first "
              "in line moves in and is told by e-mail.") % {"position": position},
        )  # fmt: skip
    return redirect("topics:detail", pk=pk)


@login_required
@require_POST
def waitlist_leave_view(request, pk: int):
    topic = get_object_or_404(Topic, pk=pk)
    try:
        waitlist_leave(topic=topic, user=request.user)
    except TopicError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("You left the waitlist."))
    return redirect("topics:detail", pk=pk)


@login_required
@require_POST
def group_leave_view(request, pk: int):
    topic = get_object_or_404(Topic, pk=pk)
    try:
        group_leave(topic=topic, user=request.user)
    except TopicError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("You left the group."))
    return redirect("topics:detail", pk=pk)


@login_required
@require_safe
def topic_group_qr(request, pk: int):
    """The group's QR code image, for the group only (it is not under /media/)."""
    topic = _get_topic(pk)
    if not request.user.has_perm("topic_sessions.view_group", topic):
        raise PermissionDenied
    return serve_image(request, topic.group_qr)


@login_required
@require_http_methods(["GET", "POST"])
@personal_page
def topic_group(request, pk: int):
    """The group's page: the chat link / QR and the task board (分工)."""
    topic = _get_topic(pk)
    if not request.user.has_perm("topic_sessions.view_group", topic):
        raise PermissionDenied
    task_form = TaskForm(topic=topic)
    group_form = None
    can_edit = request.user.has_perm("topic_sessions.change_topic", topic)
    if can_edit:
        group_form = TopicGroupForm(instance=Topic.objects.get(pk=topic.pk))
    if request.method == "POST" and "add_task" in request.POST:
        task_form = TaskForm(request.POST, topic=topic)
        if task_form.is_valid():
            try:
                task_create(topic=topic, by=request.user, **task_form.cleaned_data)
            except (TopicError, ValidationError) as error:
                task_form.add_error(None, error)
            else:
                messages.success(request, _("Task added."))
                return redirect("topics:group", pk=pk)
    elif request.method == "POST" and "save_group" in request.POST:
        if not can_edit:
            raise PermissionDenied
        group_form = TopicGroupForm(
            request.POST, request.FILES, instance=Topic.objects.get(pk=topic.pk)
        )
        if group_form.is_valid():
            try:
                topic_update(
                    topic=Topic.objects.get(pk=topic.pk),
                    by=request.user,
                    **group_form.service_kwargs(),
                )
            except (TopicError, ValidationError) as error:
                group_form.add_error(None, error)
            else:
                messages.success(request, _("Saved."))
                return redirect("topics:group", pk=pk)
    tasks = list(topic.tasks.all())
    columns = [
        (status, label, [task for task in tasks if task.status == status])
        for status, label in Task.Status.choices
    ]
    return render(
        request,
        "sessions/topic_group.html",
        {
            "topic": topic,
            "columns": columns,
            "task_form": task_form,
            "group_form": group_form,
            "move_form": TaskMoveForm(topic=topic),
            "statuses": Task.Status.choices,
            "can_manage_tasks": request.user.has_perm("topic_sessions.manage_tasks", topic),
            # Who waits for a place, in order (one query).
            "waiting": list(topic.waitlist.select_related("user")),
        },
    )


@login_required
@require_POST
def task_move(request, pk: int, task_pk: int):
    topic = _get_topic(pk)
    task = get_object_or_404(Task, pk=task_pk, topic=topic)
    form = TaskMoveForm(request.POST, topic=topic)
    if not form.is_valid():
        messages.error(request, _("Pick a status or a member of the group."))
        return redirect("topics:group", pk=pk)
    changes = {}
    if form.cleaned_data["status"]:
        changes["status"] = form.cleaned_data["status"]
    if "assignee" in request.POST:
        changes["assignee"] = form.cleaned_data["assignee"]
    try:
        task_update(task=task, by=request.user, **changes)
    except (TopicError, ValidationError) as error:
        messages.error(request, " ".join(getattr(error, "messages", [str(error)])))
    else:
        messages.success(request, _("Task updated."))
    return redirect(reverse("topics:group", args=[pk]) + f"#task-{task.pk}")


def _back_to(request, pk: int, task: Task) -> str:
    """Where a one-tap task button returns: the page it was on (?next=, this site only), or
    the task on the group page."""
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return reverse("topics:group", args=[pk]) + f"#task-{task.pk}"


def _one_tap(request, pk: int, task_pk: int, service, done_message: str):
    task = get_object_or_404(Task.objects.select_related("topic"), pk=task_pk, topic_id=pk)
    try:
        service(task=task, by=request.user)
    except TopicError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, done_message)
    return redirect(_back_to(request, pk, task))


@login_required
@require_POST
def task_claim_view(request, pk: int, task_pk: int):
    """我来: the task is mine."""
    return _one_tap(request, pk, task_pk, task_claim, _("The task is yours."))


@login_required
@require_POST
def task_finish_view(request, pk: int, task_pk: int):
    """完成: the task is done."""
    return _one_tap(request, pk, task_pk, task_finish, _("Task done. Thank you!"))


@login_required
def topic_export(request):
    """The sheet as CSV, with the filters of the page it was clicked on (organisers)."""
    if not request.user.has_perm("topic_sessions.export_topics"):
        raise PermissionDenied
    from sessions.topics.admin_csv import export_view

    _filter, topics = topic_list(filters=request.GET)
    return export_view(request, topics)


@login_required
@require_POST
def invitation_answer_view(request, pk: int):
    """The invited person accepts or declines presenting a topic with its proposer."""
    # Someone else's invitation does not exist for this person.
    invitation = get_object_or_404(CoPresenterInvitation, pk=pk, invitee=request.user)
    answer = request.POST.get("answer")
    if answer not in {"accept", "decline"}:
        messages.error(request, _("The request was incomplete; nothing changed."))
        return redirect("topics:detail", pk=invitation.topic_id)
    try:
        invitation_answer(invitation=invitation, by=request.user, accept=answer == "accept")
    except TopicError as error:
        messages.error(request, str(error))
    else:
        if answer == "accept":
            messages.success(request, _("You present this topic with its proposer."))
        else:
            messages.success(request, _("You declined the invitation."))
    return redirect("topics:detail", pk=invitation.topic_id)

"""/api/v1/'s writes: each through the same service, permission and messages as the page's
button or form. A write-scope token, or a signed-in session with its CSRF token (auth.Caller).
A refusal is {code, message} — `forbidden` 403, `refused` 409 with the service's own reason,
`invalid` 400 with the form's errors per field — in the caller's language."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Schema

from sessions.models import Task, Topic, Track, WeeklySession
from sessions.topics.forms import TopicForm
from sessions.topics.selectors import topic_list
from sessions.topics.services import (
    group_join,
    group_leave,
    task_claim,
    task_finish,
    topic_interest_set,
    topic_propose,
)
from sessions.weekly.scheduling import attendance_check_in, rsvp_set
from topicshare.api import schemas
from topicshare.api.auth import ApiRefusal, Caller
from topicshare.api.reads import _json, _topic, router

# On the reads' router: a path with a GET and a POST (/topics/) is one URL, one router.
WRITE = {"auth": Caller(write=True), "tags": ["write"]}

_ERRORS = {code: schemas.Error for code in (400, 401, 403, 404, 409, 429)}


class Done(Schema):
    code: str
    message: str


def _done(message: str, **extra):
    return _json({"code": "ok", "message": message, **extra})


class TopicIn(Schema):
    """What the Topic 发起表 asks, as JSON. `track` is the track's slug; `paper_links` a
    list of links; `co_presenters` display names or e-mail addresses."""

    title: str
    track: str
    paper_links: list[str]
    summary: str = ""
    sub_theme: str = ""
    preferred_week: str | None = None
    capacity: int | None = None
    members_only: bool = False
    co_presenters: list[str] = []


@router.post(
    "/topics/", **WRITE, response={201: schemas.Topic, **_ERRORS}, summary="Propose a topic"
)
def topic_create(request, payload: TopicIn):
    """Adds a row to the sheet, as the proposal form does: the same checks and messages."""
    track = Track.objects.filter(slug=payload.track[:40]).first()
    data = {
        # An unknown slug: a choice that does not exist, so the form says so (not "required").
        "title": payload.title, "track": track.pk if track else -1,
        "sub_theme": payload.sub_theme, "summary": payload.summary,
        "paper_links": "\n".join(payload.paper_links),
        "preferred_week": payload.preferred_week or "",
        "capacity": payload.capacity if payload.capacity is not None else 6,
        "members_only": payload.members_only,
        "co_presenters": "\n".join(payload.co_presenters),
    }  # fmt: skip
    if not request.user.has_perm("topic_sessions.propose_topic"):
        raise ApiRefusal(403, "forbidden", _("Log in to propose a topic."))
    form = TopicForm(data)
    if not form.is_valid():
        raise ApiRefusal(400, "invalid", _("Please correct the errors below."),
                         errors=_form_errors(form))  # fmt: skip
    topic = topic_propose(proposer=request.user, **form.service_kwargs())
    _filterset, queryset = topic_list()
    return _json(_topic(queryset.get(pk=topic.pk)), status=201)


def _form_errors(form) -> dict[str, list[str]]:
    return {
        field: [error["message"] for error in errors]
        for field, errors in form.errors.get_json_data().items()
    }


@router.post("/sessions/{pk}/rsvp", **WRITE, response={200: Done, **_ERRORS}, summary="RSVP")
def rsvp_create(request, pk: int):
    session = get_object_or_404(WeeklySession, pk=pk)
    rsvp_set(session=session, user=request.user, going=True)
    return _done(_("See you there!"), going=True)


@router.delete(
    "/sessions/{pk}/rsvp", **WRITE, response={200: Done, **_ERRORS}, summary="Cancel an RSVP"
)
def rsvp_delete(request, pk: int):
    session = get_object_or_404(WeeklySession, pk=pk)
    rsvp_set(session=session, user=request.user, going=False)
    return _done(_("Your RSVP is withdrawn."), going=False)


@router.post(
    "/sessions/{pk}/check-in", **WRITE, response={200: Done, **_ERRORS}, summary="Check in"
)
def check_in(request, pk: int):
    session = get_object_or_404(WeeklySession, pk=pk)
    attendance_check_in(session=session, user=request.user)
    return _done(_("You are checked in. Enjoy the session!"))


@router.post(
    "/topics/{pk}/group", **WRITE, response={200: Done, **_ERRORS}, summary="Join the group"
)
def group_create(request, pk: int):
    group_join(topic=get_object_or_404(Topic, pk=pk), user=request.user)
    return _done(_("You joined the group."))


@router.delete(
    "/topics/{pk}/group", **WRITE, response={200: Done, **_ERRORS}, summary="Leave the group"
)
def group_delete(request, pk: int):
    group_leave(topic=get_object_or_404(Topic, pk=pk), user=request.user)
    return _done(_("You left the group."))


@router.post("/topics/{pk}/want", **WRITE, response={200: Done, **_ERRORS}, summary="想听")
def want_create(request, pk: int):
    topic_interest_set(topic=get_object_or_404(Topic, pk=pk), user=request.user, want=True)
    return _done(_("Noted: you want to hear it. You hear first when it recruits and is scheduled."))


@router.delete(
    "/topics/{pk}/want", **WRITE, response={200: Done, **_ERRORS}, summary="Take back 想听"
)
def want_delete(request, pk: int):
    topic_interest_set(topic=get_object_or_404(Topic, pk=pk), user=request.user, want=False)
    return _done(_("Taken back: you no longer say you want to hear it."))


def _task(pk: int, task_pk: int) -> Task:
    return get_object_or_404(Task.objects.select_related("topic"), pk=task_pk, topic_id=pk)


@router.post(
    "/topics/{pk}/tasks/{task_pk}/claim", **WRITE, response={200: Done, **_ERRORS},
             summary="Claim a task (我来)")  # fmt: skip
def task_claim_api(request, pk: int, task_pk: int):
    task_claim(task=_task(pk, task_pk), by=request.user)
    return _done(_("The task is yours."))


@router.post(
    "/topics/{pk}/tasks/{task_pk}/finish", **WRITE, response={200: Done, **_ERRORS},
             summary="Finish a task (完成)")  # fmt: skip
def task_finish_api(request, pk: int, task_pk: int):
    task_finish(task=_task(pk, task_pk), by=request.user)
    return _done(_("Task done. Thank you!"))

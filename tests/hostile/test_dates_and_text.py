"""Impossible dates and times, huge strings and odd unicode in forms, query strings, API
filters and command options: a form error, a 400 or a clean page — never a 5xx."""

import contextlib
import datetime

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from library.models import LibraryItem
from members.admission import application_submit
from members.ledger.models import LedgerExemption
from members.models import Application
from members.roles import Role
from sessions.models import Season, Task, Topic, TopicStatus, WeeklySession
from tests.factories import TopicFactory, TrackFactory, UserFactory
from tests.hostile.helpers import (
    HUGE,
    ODD_VALUES,
    assert_clean_page,
    never_5xx,
)

pytestmark = pytest.mark.django_db


def _propose(client, **overrides):
    data = {
        "title": "Sentence-BERT",
        "track": TrackFactory(slug="nlp").pk,
        "summary": "ok",
        "paper_links": "https://arxiv.org/abs/1908.10084",
        "capacity": "6",
        **overrides,
    }
    return client.post(reverse("topics:new"), data)


# --- Dates in forms ---------------------------------------------------------------------------

IMPOSSIBLE_DAYS = [
    "2026-02-30", "2026-02-29", "0000-01-01", "99999-01-01", "2026-13-01", "-2026-01-01",
    "2026-00-10", "20260101x", "２０２６-０１-０５", "1e9",
]  # fmt: skip


@pytest.mark.parametrize("day", IMPOSSIBLE_DAYS)
def test_topic_preferred_week_impossible_dates_are_a_form_error(client, audience, day):
    client.force_login(audience)

    response = _propose(client, preferred_week=day)

    assert response.status_code == 200
    assert "preferred_week" in response.context["form"].errors
    assert Topic.objects.count() == 0


@pytest.mark.parametrize(
    "day",
    [
        "0001-01-01",
        "0001-01-10",
        "1900-01-01",
        "2020-01-08",
        "9999-12-31",
    ],
)
def test_extreme_or_past_preferred_week_never_breaks_pages_or_reminders(client, day):
    proposer = UserFactory(role=Role.MEMBER)
    client.force_login(proposer)

    response = _propose(client, preferred_week=day)

    never_5xx(response)
    topic = Topic.objects.filter(proposer=proposer).first()
    if topic is None:  # refused: fine, with a message on the field
        assert "preferred_week" in response.context["form"].errors
        return
    client.force_login(UserFactory(role=Role.ORGANISER))
    client.post(reverse("topics:transition", args=[topic.pk]), {"to": "accepted"})
    assert Topic.objects.get(pk=topic.pk).status == TopicStatus.ACCEPTED
    for url in [reverse("topics:detail", args=[topic.pk]), reverse("topics:sheet"),
                reverse("topics:sheet") + "?o=week", reverse("api-topics")]:  # fmt: skip
        assert client.get(url).status_code == 200
    call_command("dispatch_notifications", stdout=_Sink(), stderr=_Sink())


class _Sink:
    def write(self, *args, **kwargs):
        pass

    def flush(self):
        pass


@pytest.mark.parametrize(
    ("due", "valid"),
    [
        ("2026-02-30", False),
        ("0000-01-01", False),
        ("99999-12-31", False),
        ("tomorrow", False),
        ("0001-01-01", True),
        ("9999-12-31", True),
        ("2000-01-01", True),
    ],  # fmt: skip
)
def test_task_due_dates(client, due, valid):
    topic = TopicFactory(status=TopicStatus.PREPARING)
    client.force_login(topic.proposer)

    response = client.post(
        reverse("topics:group", args=[topic.pk]),
        {"add_task": "1", "title": "Slides", "notes": "", "due_date": due},
    )

    never_5xx(response)
    assert Task.objects.filter(topic=topic).exists() is valid
    if not valid:
        assert "due_date" in response.context["task_form"].errors
    assert_clean_page(client.get(reverse("topics:group", args=[topic.pk])))
    call_command("dispatch_notifications", stdout=_Sink(), stderr=_Sink())


@pytest.fixture
def ready_topic():
    track = TrackFactory(slug="nlp", weekday=5, local_time=datetime.time(20, 30))
    return TopicFactory(status=TopicStatus.READY, track=track)


@pytest.mark.parametrize(
    "start",
    [
        "2026-02-30T20:30",
        "99999-01-01T00:00",
        "0000-01-01T00:00",
        "2026-12-05T25:61",
        "0001-01-01T00:00",
        "2001-01-01T00:00",
        "9999-12-31T23:59",
    ],
)
def test_schedule_custom_start_impossible_times(client, organiser, ready_topic, start):
    client.force_login(organiser)

    response = client.post(
        reverse("sessions:schedule", args=[ready_topic.pk]),
        {"custom_start": start, "override_slot": "on"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors
    assert WeeklySession.objects.count() == 0


@pytest.mark.parametrize(
    ("day", "time"),
    [
        ("2026-02-30", "20:00"),
        ("0000-01-01", "00:00"),
        ("99999-01-01", "00:00"),
        ("0001-01-01", "00:00"),
        ("2001-01-01", "10:00"),
        ("2026-12-01", "25:99"),
        ("9999-12-31", "23:59"),
    ],  # fmt: skip
)
def test_admin_review_dates(client, committee, day, time):
    application = application_submit(
        applicant=UserFactory(role=Role.AUDIENCE),
        motivation="I read NLP papers every week and want to present.",
        paper_title="BERT",
        paper_url="https://arxiv.org/abs/1810.04805",
    )
    client.force_login(committee)

    response = client.post(
        reverse("admin:members_application_change", args=[application.pk]),
        {
            "review_at_0": day,
            "review_at_1": time,
            "review_meeting_url": "",
            "review_notes": "",
            "vote_deadline_0": "",
            "vote_deadline_1": "",
            "feedback": "",
        },
    )

    never_5xx(response)
    application.refresh_from_db()
    if application.review_at is not None:
        assert application.review_at > timezone.now()
    assert_clean_page(client.get(reverse("admin:members_application_change",
                                         args=[application.pk])))  # fmt: skip
    client.force_login(application.applicant)
    assert_clean_page(client.get(reverse("join-status")))


# --- Command options -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "now",
    [
        "2026-02-30T20:00:00+08:00",
        "yesterday",
        "2026-12-05T20:15:00",
        "2026-12-05T20:15+25:00",
        "+99999-01-01T00:00:00+00:00",
        "\u202e2026-12-05",
        "2026-12-05T20:15:00+08:00 then",
    ],  # fmt: skip
)
def test_dispatch_now_option_refuses_impossible_times(now):
    with pytest.raises(CommandError, match="--now"):
        call_command("dispatch_notifications", "--now", now, stdout=_Sink())


@pytest.mark.parametrize(
    "now", ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00", "0001-01-01T00:00:00-23:59"]
)
def test_dispatch_now_option_at_the_edge_of_the_calendar(now):
    with pytest.raises(CommandError, match="between the years"):
        call_command("dispatch_notifications", "--now", now, stdout=_Sink())


@pytest.mark.parametrize("batch", ["0", "-5", "abc", "1e3"])
def test_dispatch_batch_size_must_be_a_positive_number(batch):
    with pytest.raises(CommandError):
        call_command("dispatch_notifications", "--batch-size", batch, stdout=_Sink())


@pytest.mark.parametrize("label", ["Topic 99", "\u202eTopic 7", "Topic\x007", HUGE, "' OR 1=1 --"])
def test_season_report_unknown_or_odd_season_is_a_command_error(label):
    Season.objects.create(label="Topic 7", order=7)

    with pytest.raises(CommandError, match="No season"):
        call_command("season_report", label, stdout=_Sink())


@pytest.mark.parametrize("language", ["xx", "../../etc/passwd", "zh-hans\x00", "😀"])
def test_season_report_odd_language_never_crashes(language):
    Season.objects.create(label="Topic 7", order=7)

    with contextlib.suppress(CommandError):
        call_command("season_report", "Topic 7", "--language", language, stdout=_Sink())


# --- Huge strings and odd unicode in every text field -------------------------------------


def _topic_form(client):
    client.force_login(UserFactory(role=Role.MEMBER))
    track = TrackFactory(slug="nlp")
    base = {"title": "ok", "track": track.pk, "summary": "", "capacity": "6",
            "paper_links": "https://arxiv.org/abs/1908.10084"}  # fmt: skip

    def pages():
        return [reverse("topics:detail", args=[t.pk]) for t in Topic.objects.all()]

    return reverse("topics:new"), base, pages


def _task_form(client):
    topic = TopicFactory(status=TopicStatus.PREPARING)
    client.force_login(topic.proposer)
    base = {"add_task": "1", "title": "ok", "notes": "", "due_date": ""}
    return (
        reverse("topics:group", args=[topic.pk]),
        base,
        lambda: [reverse("topics:group", args=[topic.pk])],
    )


def _profile_form(client):
    user = UserFactory(role=Role.MEMBER)
    TopicFactory(proposer=user)
    client.force_login(user)
    base = {"display_name": "ok", "wechat_id": "", "preferred_language": ""}
    return (
        reverse("profile"),
        base,
        lambda: [
            reverse("profile"),
            reverse("topics:sheet"),
            reverse("members:detail", args=[user.pk]),
        ],
    )


def _application_form(client):
    base = {"motivation": "I read NLP papers every week and want to present.",
            "paper_title": "BERT", "paper_url": "https://arxiv.org/abs/1810.04805",
            "preferred_dates": ""}  # fmt: skip

    def login():
        client.force_login(UserFactory(role=Role.AUDIENCE))  # one open application each

    login()
    return reverse("join-apply"), base, lambda: [reverse("join-status")], login


def _materials_form(client):
    presenter = UserFactory(role=Role.MEMBER)
    item = LibraryItem.objects.create(title="LightGCN")
    item.presenters.set([presenter])
    client.force_login(presenter)
    base = {"slides_url": "", "recording_url": "", "extraction_code": ""}
    return (
        reverse("library:materials", args=[item.pk]),
        base,
        lambda: [
            reverse("library:detail", args=[item.pk]),
            reverse("library:index"),
        ],
    )


def _transition_form(client):
    topic = TopicFactory(status=TopicStatus.PROPOSED)
    client.force_login(UserFactory(role=Role.ORGANISER))
    base = {"to": "rejected", "reason": "ok"}
    return (
        reverse("topics:transition", args=[topic.pk]),
        base,
        lambda: [reverse("topics:detail", args=[topic.pk])],
    )


def _meeting_form(client):
    track = TrackFactory(slug="nlp", weekday=5, local_time=datetime.time(20, 30))
    topic = TopicFactory(status=TopicStatus.READY, track=track)
    organiser = UserFactory(role=Role.ORGANISER)
    client.force_login(organiser)
    from sessions.weekly.scheduling import free_slots, session_schedule

    now = timezone.now()
    session = session_schedule(topic=topic, start=free_slots(track=track, now=now)[0],
                               by=organiser, now=now)  # fmt: skip
    base = {"action": "meeting", "meeting_provider": "tencent", "meeting_url": "",
            "meeting_id": "", "meeting_passcode": "", "organiser_note": ""}  # fmt: skip
    return (
        reverse("sessions:manage", args=[session.pk]),
        base,
        lambda: [
            reverse("sessions:detail", args=[session.pk]),
            reverse("sessions:manage", args=[session.pk]),
            reverse("sessions:upcoming"),
        ],
    )


TEXT_FIELDS = [
    (_topic_form, "title"),
    (_topic_form, "sub_theme"),
    (_topic_form, "summary"),
    (_topic_form, "paper_links"),
    (_task_form, "title"),
    (_task_form, "notes"),
    (_profile_form, "display_name"),
    (_profile_form, "wechat_id"),
    (_application_form, "motivation"),
    (_application_form, "paper_title"),
    (_application_form, "paper_url"),
    (_application_form, "preferred_dates"),
    (_materials_form, "slides_url"),
    (_materials_form, "recording_url"),
    (_materials_form, "extraction_code"),
    (_transition_form, "reason"),
    (_meeting_form, "meeting_url"),
    (_meeting_form, "meeting_id"),
    (_meeting_form, "organiser_note"),
]


def _stored_nul() -> list[str]:
    """Text columns (of what these forms write) that hold a NUL character."""
    from members.models import User

    found = []
    for model, fields in [
        (Topic, ["title", "sub_theme", "summary", "reason"]),
        (Task, ["title", "notes"]),
        (Application, ["motivation", "paper_title", "paper_url", "preferred_dates"]),
        (LibraryItem, ["slides_url", "recording_url", "extraction_code"]),
        (WeeklySession, ["meeting_url", "meeting_id", "organiser_note"]),
        (User, ["display_name", "wechat_id"]),
    ]:
        for row in model.objects.values(*fields):
            found += [f"{model.__name__}.{f}" for f, value in row.items() if "\x00" in value]
    return found


@pytest.mark.parametrize(
    ("form", "field"), TEXT_FIELDS, ids=[f"{f.__name__[1:]}-{field}" for f, field in TEXT_FIELDS]
)
def test_odd_text_in_every_field_never_5xx_and_nul_is_never_stored(client, form, field):
    setup = form(client)
    url, base, pages = setup[:3]
    login = setup[3] if len(setup) > 3 else None
    for value in ODD_VALUES:
        if login:
            login()
        response = client.post(url, {**base, field: value})
        never_5xx(response)
    assert _stored_nul() == []
    for page in pages():
        assert_clean_page(client.get(page))


# --- Query strings and API filters --------------------------------------------------------

BAD_VALUES = [
    "abc", "-1", "0", "99999", "9" * 30, "1e3", "1.5", "١٢", "<script>alert(1)</script>",
    "' OR 1=1 --", "true", "maybe", "[]", "null", "%00", "a%00b", "%ED%A0%80", "%FF%FE",
    "%E2%80%AE", "%F0%9F%98%80", "Z%CD%91%CD%91%CD%91", "x" * 100_000,
]  # fmt: skip

FILTERS = [
    ("api-topics", ["track", "season", "status", "proposer", "q", "o", "page"]),
    ("api-sessions", ["track", "season", "from", "to", "status", "page"]),
    (
        "api-library-items",
        [
            "season",
            "domain",
            "kind",
            "tag",
            "year",
            "has_slides",
            "has_recording",
            "top_level",
            "q",
            "page",
        ],
    ),  # fmt: skip
    ("topics:sheet", ["track", "season", "status", "proposer", "q", "o", "page"]),
    ("api-v1:topics", ["track", "season", "status", "proposer", "q", "o", "page"]),
    ("api-v1:sessions", ["track", "season", "from", "to", "status", "page"]),
    (
        "api-v1:library_items",
        [
            "season",
            "domain",
            "kind",
            "presenter",
            "tag",
            "year",
            "has_slides",
            "has_recording",
            "top_level",
            "parent",
            "q",
            "page",
        ],
    ),
    ("api-v1:tracks", ["page"]),
    ("api-v1:projects", ["page"]),
    (
        "library:index",
        [
            "season",
            "domain",
            "kind",
            "presenter",
            "tag",
            "year",
            "has_slides",
            "has_recording",
            "top_level",
            "q",
            "page",
        ],
    ),  # fmt: skip
    ("sessions:upcoming", ["weeks"]),
    ("sessions:past", ["page"]),
    ("library:feed", ["q"]),
]
FILTER_CASES = [(name, param) for name, params in FILTERS for param in params]


@pytest.fixture
def populated():
    track = TrackFactory(slug="nlp")
    Season.objects.create(label="Topic 7", order=7, is_current=True)
    for number in range(3):
        TopicFactory(track=track, title=f"Topic {number}")
    LibraryItem.objects.create(title="LightGCN", domain=track, recording_url="https://a.org/")


@pytest.mark.parametrize(("name", "param"), FILTER_CASES,
                         ids=[f"{n}-{p}" for n, p in FILTER_CASES])  # fmt: skip
def test_filters_never_5xx(client, populated, name, param):
    url = reverse(name)
    for value in BAD_VALUES:
        response = client.get(f"{url}?{param}={value}")
        assert response.status_code in {200, 400}, (value, response.status_code)
        if name.startswith("api-") and response.status_code == 400:
            assert "errors" in response.json()
        if name.startswith("api-v1:") and response.status_code == 400:
            assert response.json()["code"] in {"bad_filter", "bad_request", "bad_page"}
        if name.startswith("api-") and response.status_code == 200:
            assert "results" in response.json()


@pytest.mark.parametrize(
    "value",
    [
        "abc",
        "9" * 60,
        "-1",
        "²",
        "³",
        "١٢",
    ],
)
@pytest.mark.parametrize("name", ["api-library-items", "library:index"])
def test_library_presenter_filter_with_odd_digits(client, populated, name, value):
    response = client.get(reverse(name), {"presenter": value})

    assert response.status_code in {200, 400}


@pytest.mark.parametrize(
    ("name", "query"),
    [
        ("api-topics", "season=abc"),
        ("api-topics", "status=unknown"),
        ("api-topics", "proposer=-1"),
        ("api-topics", "o=password"),
        ("api-sessions", "from=2026-02-30"),
        ("api-sessions", "from=0001-01-01"),
        ("api-sessions", "to=9999-12-31"),
        ("api-sessions", "from=99999-01-01"),
        ("api-sessions", "status=deleted"),
        ("api-library-items", "kind=weapon"),
        ("api-library-items", "year=1e3"),
        ("api-library-items", "year=99999"),
        ("api-library-items", "season=%ED%A0%80"),
        ("api-library-items", "domain=%00"),
    ],
)
def test_api_bad_filter_values_are_a_400_naming_the_filter(client, populated, name, query):
    response = client.get(f"{reverse(name)}?{query}")

    assert response.status_code == 400
    assert query.split("=")[0] in response.json()["errors"]


@pytest.mark.parametrize("page", ["99999", "-1", "0", "abc", "9" * 40, "%00"])
@pytest.mark.parametrize("name", ["api-topics", "api-sessions", "api-library-items"])
def test_api_odd_pages_answer_a_page(client, populated, name, page):
    response = client.get(f"{reverse(name)}?page={page}")

    assert response.status_code == 200
    assert isinstance(response.json()["results"], list)


@pytest.mark.parametrize(
    "path",
    [
        "/topics/%ED%A0%80/",
        "/topics/99999999999999999999999/",
        "/library/%00/",
        "/library/99999999999999999999999/slides/",
        "/sessions/%E2%80%AE/",
        "/sessions/calendar/%ED%A0%80.ics",
        "/sessions/calendar/me/%ED%A0%80.ics",
        "/sessions/calendar/me/" + "a" * 500 + ".ics",
        "/notifications/unsubscribe/%00%ED%A0%80/",
        "/members/99999999999999999999999/",
        "/join/applications/99999999999999999999999/slides/",
    ],
)
def test_odd_paths_are_404_not_500(client, path):
    client.force_login(UserFactory(role=Role.MEMBER))

    response = client.get(path)

    assert response.status_code == 404


SEASON_REVIEW_CASES = [
    (action, value)
    for action in ("remove", "exempt", "revoke")
    for value in ["²", "9" * 30, "-1", "%00", "abc"]
]


@pytest.mark.parametrize(
    ("action", "value"),
    [
        (action, value)
        for action, value in SEASON_REVIEW_CASES
    ],
    ids=[f"{action}-{value[:6]}" for action, value in SEASON_REVIEW_CASES],
)  # fmt: skip
def test_season_review_post_with_odd_ids(client, organiser, action, value):
    season = Season.objects.create(label="Topic 7", order=7, is_current=True)
    client.force_login(organiser)

    response = client.post(
        reverse("ledger:season-review", args=[season.pk]), {action: value, "reason-1": "x"}
    )

    assert response.status_code == 302
    assert LedgerExemption.objects.count() == 0

"""Script in every user text field that is rendered back: what is stored and what is rendered
must run nothing, and every page must still render."""

import datetime
import io
import json

import pytest
from django.urls import reverse

from library.importers.detect import import_library
from library.importers.zhihu import sanitise_html
from library.models import LibraryItem
from library.services import items_reindex
from members.models import Application
from members.roles import Role
from sessions.models import Task, Topic, TopicStatus
from tests.factories import TopicFactory, TrackFactory, UserFactory
from tests.hostile.helpers import (
    MARKER,
    XSS_IDS,
    XSS_VALUES,
    assert_clean_page,
    assert_no_executable,
    executable_parts,
)
from topicshare.core.markup import render_markdown

pytestmark = pytest.mark.django_db


def test_the_checker_finds_what_it_should():
    """The checker itself: raw payloads are caught, escaped ones are not."""
    for payload in XSS_VALUES[:3] + XSS_VALUES[4:5]:
        assert executable_parts(payload), payload
    assert not executable_parts("&lt;script&gt;alert('pwn3d')&lt;/script&gt;")
    assert not executable_parts('<script src="/static/js/copy.js" defer></script>')


# --- Markdown (topic summaries, library summaries) ------------------------------------------


@pytest.mark.parametrize("payload", XSS_VALUES, ids=XSS_IDS)
def test_render_markdown_never_outputs_script(payload):
    html = render_markdown(f"Intro **bold**\n\n{payload}\n\n- {payload}\n\n> {payload}")

    assert_no_executable(html)


@pytest.mark.parametrize("payload", XSS_VALUES, ids=XSS_IDS)
def test_topic_title_and_summary_render_safely_everywhere(client, payload):
    proposer = UserFactory(role=Role.MEMBER)
    track = TrackFactory(slug="nlp")
    client.force_login(proposer)

    response = client.post(
        reverse("topics:new"),
        {
            "title": payload,
            "track": track.pk,
            "sub_theme": payload[:60],
            "summary": f"# {payload}\n\n{payload}",
            "paper_links": "https://arxiv.org/abs/1706.03762",
            "capacity": "6",
        },
    )

    assert response.status_code == 302, response.context["form"].errors
    topic = Topic.objects.get()
    assert_no_executable(render_markdown(topic.summary))
    for url in [
        reverse("topics:detail", args=[topic.pk]),
        reverse("topics:sheet"),
        reverse("topics:sheet") + "?q=" + MARKER,
        reverse("topics:edit", args=[topic.pk]),
        reverse("topics:group", args=[topic.pk]),
    ]:
        assert_clean_page(client.get(url))
    api = client.get(reverse("api-topics"))
    assert api["Content-Type"] == "application/json"
    assert api.json()["results"][0]["title"] == " ".join(payload.split())


@pytest.mark.parametrize("payload", XSS_VALUES, ids=XSS_IDS)
def test_markdown_preview_is_sanitised(client, payload):
    client.force_login(UserFactory(role=Role.AUDIENCE))

    response = client.post(
        reverse("topics:new"),
        {"title": "", "summary": f"{payload}\n\n*{payload}*", "preview": "1"},
    )

    assert_clean_page(response)
    assert Topic.objects.count() == 0


@pytest.mark.parametrize("payload", XSS_VALUES, ids=XSS_IDS)
def test_task_title_and_notes_render_safely_on_the_board(client, payload):
    topic = TopicFactory(status=TopicStatus.PREPARING)
    client.force_login(topic.proposer)

    response = client.post(
        reverse("topics:group", args=[topic.pk]),
        {"add_task": "1", "title": payload, "notes": payload, "due_date": ""},
    )

    assert response.status_code == 302, response.context["task_form"].errors
    assert Task.objects.filter(topic=topic).count() == 1
    assert_clean_page(client.get(reverse("topics:group", args=[topic.pk])))


@pytest.mark.parametrize("payload", XSS_VALUES, ids=XSS_IDS)
def test_profile_display_name_renders_safely_wherever_it_is_shown(client, payload):
    user = UserFactory(role=Role.MEMBER)
    topic = TopicFactory(proposer=user)
    client.force_login(user)

    response = client.post(
        reverse("profile"),
        {"display_name": payload[:60], "wechat_id": "", "preferred_language": ""},
    )

    assert response.status_code in {200, 302}
    user.refresh_from_db()
    assert_clean_page(client.get(reverse("profile")))
    assert_clean_page(client.get(reverse("topics:detail", args=[topic.pk])))
    assert_clean_page(client.get(reverse("topics:sheet")))
    client.force_login(UserFactory(role=Role.ORGANISER))
    assert_clean_page(client.get(reverse("members:detail", args=[user.pk])))
    assert_clean_page(client.get(reverse("admin:members_user_changelist")))


@pytest.mark.parametrize("payload", XSS_VALUES, ids=XSS_IDS)
def test_application_text_renders_safely_to_applicant_and_committee(client, payload):
    applicant = UserFactory(role=Role.AUDIENCE)
    client.force_login(applicant)

    response = client.post(
        reverse("join-apply"),
        {
            "motivation": f"I want to join the forum because {payload}",
            "paper_title": payload,
            "paper_url": "https://arxiv.org/abs/1810.04805",
            "preferred_dates": payload,
        },
    )

    assert response.status_code == 302, response.context["form"].errors
    application = Application.objects.get()
    assert_clean_page(client.get(reverse("join-status")))
    client.force_login(UserFactory(role=Role.COMMITTEE))
    assert_clean_page(
        client.get(reverse("admin:members_application_change", args=[application.pk]))
    )
    assert_clean_page(client.get(reverse("admin:members_application_changelist")))


MATERIAL_URLS = [
    ("javascript", f"javascript:alert('{MARKER}')", False),
    ("javascript-mixed-case", f"JaVaScRiPt:alert('{MARKER}')", False),
    ("javascript-leading-space", f"  javascript:alert('{MARKER}')", False),
    ("data-html", f"data:text/html,<script>alert('{MARKER}')</script>", False),
    ("vbscript", f"vbscript:msgbox('{MARKER}')", False),
    ("quote-breakout", f"https://example.org/\"><svg/onload=alert('{MARKER}')>", True),
    ("attribute-breakout", f"https://example.org/x\"onmouseover=\"alert('{MARKER}')", True),
]


@pytest.mark.parametrize(
    ("url", "accepted"),
    [(url, accepted) for _name, url, accepted in MATERIAL_URLS],
    ids=[name for name, _url, _accepted in MATERIAL_URLS],
)
def test_library_material_links_never_become_script(client, url, accepted):
    presenter = UserFactory(role=Role.MEMBER)
    item = LibraryItem.objects.create(title="LightGCN")
    item.presenters.set([presenter])
    client.force_login(presenter)

    response = client.post(
        reverse("library:materials", args=[item.pk]),
        {"slides_url": url, "recording_url": url, "extraction_code": ""},
    )

    item.refresh_from_db()
    if accepted:
        assert response.status_code == 302
    else:
        assert response.status_code == 200
        assert {"slides_url", "recording_url"} <= set(response.context["form"].errors)
        assert (item.slides_url, item.recording_url) == ("", "")
    assert_clean_page(client.get(reverse("library:detail", args=[item.pk])))
    assert_clean_page(client.get(reverse("library:index")))
    for link in (item.slides_url, item.recording_url):
        assert not link.strip().lower().startswith(("javascript:", "data:", "vbscript:"))


@pytest.mark.parametrize("payload", XSS_VALUES, ids=XSS_IDS)
def test_library_item_summary_title_and_note_render_safely(client, payload):
    item = LibraryItem.objects.create(
        title=payload, summary=payload, note=payload, sub_theme=payload[:100], author_name=payload
    )
    items_reindex([item])

    assert_clean_page(client.get(reverse("library:detail", args=[item.pk])))
    assert_clean_page(client.get(reverse("library:index")))
    assert_clean_page(client.get(reverse("library:index"), {"q": payload}))
    feed = client.get(reverse("library:feed")).content.decode()
    assert "<script>" not in feed


# --- Imported HTML (Zhihu) and imported markdown ------------------------------------------

ZHIHU_PAYLOADS = [
    *[(name, payload) for name, payload in zip(XSS_IDS, XSS_VALUES, strict=True)],
    (
        "zhihu-redirect-to-js",
        f'<a href="https://link.zhihu.com/?target=javascript%3Aalert(%27{MARKER}%27)">x</a>',
    ),
    ("lazy-img-js", f'<img src="x" data-actualsrc="javascript:alert(\'{MARKER}\')">'),
    (
        "img-alt-breakout",
        f'<img src="https://a.example/p.png" alt=\'"><script>{MARKER}</script>\'>',
    ),
    (
        "noscript-mxss",
        f"<noscript><p title=\"</noscript><img src=x onerror=alert('{MARKER}')>\"></noscript>",
    ),
    ("svg-xlink", f"<svg><a xlink:href=\"javascript:alert('{MARKER}')\"><text>x</text></a></svg>"),
    ("form-action", f"<form action=\"javascript:alert('{MARKER}')\"><button>go</button></form>"),
    ("object-data", f'<object data="data:text/html,<script>alert({MARKER})</script>"></object>'),
    ("entity-js", f"<a href=\"&#106;avascript:alert('{MARKER}')\">x</a>"),
    ("style-tag", f"<style>body{{background:url('javascript:alert({MARKER})')}}</style>"),
    ("data-img", f'<img src="data:image/svg+xml;base64,{MARKER}PHN2Zz4=">'),
    ("base-tag", f"<base href=\"javascript:alert('{MARKER}')//\">"),
    ("meta-refresh", f'<meta http-equiv="refresh" content="0;url=javascript:alert({MARKER})">'),
]


@pytest.mark.parametrize(
    "payload", [p for _n, p in ZHIHU_PAYLOADS], ids=[n for n, _p in ZHIHU_PAYLOADS]
)
def test_zhihu_import_stores_and_renders_no_script(client, payload):
    document = {
        "article": [
            {
                "url": "https://zhuanlan.zhihu.com/p/123",
                "title": payload,
                "userName": payload,
                "content": f"<p>Intro</p>{payload}<p>after</p>",
                "topic": [{"tag": payload[:60]}],
            }
        ]
    }

    report = import_library(data=json.dumps(document).encode(), name="column.json")

    assert report.created == 1
    item = LibraryItem.objects.get()
    assert_no_executable(item.content_html)
    assert_no_executable(sanitise_html(payload))
    assert_clean_page(client.get(reverse("library:detail", args=[item.pk])))
    assert_clean_page(client.get(reverse("library:index")))


@pytest.mark.parametrize("payload", XSS_VALUES, ids=XSS_IDS)
def test_reading_list_import_renders_no_script(client, payload):
    text = (
        f"# 推荐系统 {payload}\n\n"
        f"- [{payload}](https://example.org/a) {payload}\n"
        f"- [bad link](javascript:alert('{MARKER}'))\n"
        f"  {payload}\n"
    )

    import_library(data=text.encode(), name="reading.md", fmt="reading-list")

    assert not LibraryItem.objects.filter(source_url__istartswith="javascript").exists()
    for item in LibraryItem.objects.all():
        assert_clean_page(client.get(reverse("library:detail", args=[item.pk])))
    assert_clean_page(client.get(reverse("library:index")))


@pytest.mark.parametrize("payload", XSS_VALUES[:6], ids=XSS_IDS[:6])
def test_topic_archive_import_renders_no_script(client, payload):
    text = (
        "### Topic 5\n\n#### Topic 5 >> 自然语言处理\n\n"
        f"1. [{payload}](https://example.org/talk.pdf)【杨夕】【[论文](javascript:alert(1))】\n"
        f"2. {payload}【{payload[:30]}】\n"
    )

    import_library(data=text.encode(), name="README.md", fmt="topic-archive")

    assert not LibraryItem.objects.filter(paper_url__istartswith="javascript").exists()
    for item in LibraryItem.objects.all():
        assert_clean_page(client.get(reverse("library:detail", args=[item.pk])))
    assert_clean_page(client.get(reverse("library:index")))


# --- Other renderings of user text: calendar feeds and e-mails ---------------------------

ICS_INJECTION = "x\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:evil\r\nSUMMARY:pwn3d\r\nURL:javascript:x"


def test_calendar_feeds_escape_line_breaks_in_user_text(client):
    from icalendar import Calendar

    from sessions.weekly.calendar import calendar_token_for
    from sessions.weekly.scheduling import free_slots, session_schedule

    organiser = UserFactory(role=Role.ORGANISER)
    track = TrackFactory(slug="nlp", weekday=5, local_time=datetime.time(20, 30))
    topic = TopicFactory(status=TopicStatus.READY, track=track, summary=ICS_INJECTION,
                         title=f"T {ICS_INJECTION}")  # fmt: skip
    now = datetime.datetime.now(datetime.UTC)
    session_schedule(topic=topic, start=free_slots(track=track, now=now)[0], by=organiser,
                     now=now, organiser_note=ICS_INJECTION)  # fmt: skip
    token = calendar_token_for(user=topic.proposer)

    for url in [reverse("sessions:calendar-all"),
                reverse("sessions:calendar-personal", args=[token])]:  # fmt: skip
        content = client.get(url).content.decode()
        events = Calendar.from_ical(content).walk("VEVENT")
        lines = content.replace("\r\n ", "").split("\r\n")  # unfolded content lines
        assert len(events) == 1, url
        assert lines.count("BEGIN:VEVENT") == 1
        assert not [line for line in lines if line.startswith(("UID:evil", "URL:javascript"))]


@pytest.mark.parametrize("payload", XSS_VALUES[:6], ids=XSS_IDS[:6])
def test_notification_emails_render_user_text_safely(payload):
    from django.core import mail
    from django.core.management import call_command

    from sessions.topics.services import topic_transition

    topic = TopicFactory(title=payload, summary=payload)
    topic_transition(topic=topic, to=TopicStatus.ACCEPTED, by=UserFactory(role=Role.ORGANISER))

    call_command("dispatch_notifications", stdout=io.StringIO())

    htmls = [
        html
        for message in mail.outbox
        for html, mimetype in getattr(message, "alternatives", [])
        if mimetype == "text/html"
    ]
    assert htmls, "the proposer should have been told, in HTML too"
    for html in htmls:
        assert_no_executable(html)

"""One voice in each language: English pages hold no Han characters outside user content, Chinese
pages no untranslated UI strings and no 您. The fixture's user content is ASCII only, so any Han
character on an English page is the interface's, and any English msgid on a Chinese page is an
untranslated label."""

import re
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.urls import reverse
from django.utils import timezone

from library.models import LibraryItem
from members.models import Application
from members.roles import Role
from sessions.models import RSVP, Participation, Task, TopicStatus
from sessions.weekly.scheduling import free_slots, session_schedule
from tests.factories import TopicFactory, TrackFactory, UserFactory
from topicshare.forum.models import ForumSettings

pytestmark = pytest.mark.django_db
S = TopicStatus
PO = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
SKIPPED = {"script", "style", "template", "code", "pre"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


class _Text(HTMLParser):
    """The page's text nodes and visible attributes in the page's own language: a part marked
    with another lang (the language switch names each language in itself) is left out."""

    def __init__(self, page_lang: str):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []  # (tag, counted)
        self.page_lang = page_lang
        self.texts: list[str] = []

    def _counted(self) -> bool:
        return all(counted for _, counted in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        lang = attrs.get("lang")
        counted = tag not in SKIPPED and (tag == "html" or lang is None or lang == self.page_lang)
        if self._counted() and counted:
            for name in ("title", "placeholder", "aria-label", "alt"):
                if attrs.get(name):
                    self.texts.append(attrs[name].strip())
            if tag == "input" and attrs.get("type") in {"submit", "button"} and attrs.get("value"):
                self.texts.append(attrs["value"].strip())
        if tag not in VOID:
            self.stack.append((tag, counted))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        for index in range(len(self.stack) - 1, -1, -1):
            if self.stack[index][0] == tag:
                del self.stack[index:]
                return

    def handle_data(self, data):
        if self._counted() and data.strip():
            self.texts.append(" ".join(data.split()))


def texts(html: str, lang: str) -> list[str]:
    parser = _Text(lang)
    parser.feed(html)
    return parser.texts


def _english_msgids() -> set[str]:
    """Our catalogue's msgids whose Chinese differs (proper names such as "Sat" stay)."""
    po = polib.pofile(str(PO))
    return {
        entry.msgid.strip()
        for entry in po
        if not entry.obsolete
        and entry.msgstr
        and entry.msgstr.strip() != entry.msgid.strip()
        and "%" not in entry.msgid
        and "{" not in entry.msgid
        and re.search(r"[A-Za-z]{3}", entry.msgid)
    }


@pytest.fixture
def world():
    """Every role with something to see; all user content in ASCII."""
    forum = ForumSettings.load()
    forum.slogan = "Papers every Saturday"
    forum.save()
    track = TrackFactory(slug="nlp", name_zh="NLP", name_en="NLP")
    organiser = UserFactory(role=Role.ORGANISER, display_name="Olga Organiser")
    committee = UserFactory(role=Role.COMMITTEE, display_name="Carl Committee")
    member = UserFactory(role=Role.MEMBER, display_name="Mia Member")
    proposer = UserFactory(role=Role.MEMBER, display_name="Paul Proposer")
    applicant = UserFactory(role=Role.AUDIENCE, display_name="Ann Applicant")

    ready = TopicFactory(
        track=track,
        status=S.READY,
        proposer=proposer,
        title="BERT explained",
        sub_theme="pre-training",
    )
    start = free_slots(track=track, now=timezone.now())[0]
    session = session_schedule(
        topic=ready, start=start, by=organiser, meeting_url="https://meet.example.org/1"
    )
    RSVP.objects.create(session=session, user=member)
    group = TopicFactory(
        track=track,
        status=S.PREPARING,
        title="Scaling laws",
        proposer=proposer,
        sub_theme="scaling",
    )
    Participation.objects.create(topic=group, user=member, role=Participation.Role.PARTICIPANT)
    Task.objects.create(topic=group, title="Reproduce figure 2", assignee=member)
    proposed = TopicFactory(track=track, status=S.PROPOSED, title="Mamba", proposer=member)
    TopicFactory(track=track, status=S.REJECTED, title="Old idea", proposer=member)
    LibraryItem.objects.create(
        title="Attention is all you need", session=session, slides_url="https://example.org/s.pdf"
    )
    Application.objects.create(
        applicant=applicant,
        motivation="I want to learn",
        paper_title="GPT-3",
        paper_url="https://arxiv.org/abs/2005.14165",
    )
    return {
        "organiser": organiser,
        "committee": committee,
        "member": member,
        "topic": proposed,
        "group": group,
        "session": session,
    }


def _pages(world):
    """(url, who) for the main pages; who None = a visitor."""
    return [
        (reverse("home"), "member"),
        (reverse("home"), None),
        (reverse("me"), "member"),
        (reverse("topics:sheet"), "organiser"),
        (reverse("topics:sheet"), None),
        (reverse("topics:detail", args=[world["topic"].pk]), "organiser"),
        (reverse("topics:detail", args=[world["group"].pk]), "member"),
        (reverse("sessions:upcoming"), "member"),
        (reverse("sessions:detail", args=[world["session"].pk]), "organiser"),
        (reverse("library:index"), None),
        (reverse("join"), None),
        (reverse("account_login"), None),
        (reverse("account_signup"), None),
        (reverse("profile"), "member"),
        (reverse("members:committee"), "committee"),
        (reverse("inbox"), "organiser"),
    ]


def _get(client, world, url, who, lang):
    client.logout()
    if who:
        client.force_login(world[who])
    response = client.get(url, headers={"accept-language": lang})
    assert response.status_code == 200, (url, who, response.status_code)
    return response.content.decode()


def test_english_pages_hold_no_han_characters(client, world):
    problems = []
    for url, who in _pages(world):
        page = _get(client, world, url, who, "en")
        problems += [(url, who, text) for text in texts(page, "en") if HAN.search(text)]
    assert not problems, "\n".join(map(str, problems))


def test_chinese_pages_hold_no_untranslated_ui_strings_and_no_formal_you(client, world):
    english = _english_msgids()
    problems = []
    for url, who in _pages(world):
        page = _get(client, world, url, who, "zh-hans")
        for text in texts(page, "zh-hans"):
            if text in english or "您" in text:
                problems.append((url, who, text))
    assert not problems, "\n".join(map(str, problems))


def test_the_text_reader_leaves_out_scripts_and_other_languages():
    html = (
        '<html lang="en"><body><p title="Tip">Hello</p><script>var a = "中文";</script>'
        '<button lang="zh-hans">简体中文</button><input type="submit" value="Go"></body></html>'
    )
    assert texts(html, "en") == ["Tip", "Hello", "Go"]


def test_allauth_speaks_with_ni_not_nin():
    """Every allauth entry our account pages and mails show, in the forum's Chinese: 你."""
    import allauth
    from django.utils import translation

    package = Path(allauth.__file__).parent / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
    skipped = ("mfa/", "headless/", "usersessions/", "idp/")
    formal = []
    with translation.override("zh-hans"):
        for entry in polib.pofile(str(package)):
            shown = entry.msgstr or "".join(entry.msgstr_plural.values())
            if entry.obsolete or "您" not in shown:
                continue
            if all(any(part in path for part in skipped) for path, _ in entry.occurrences):
                continue
            if entry.msgid_plural:
                ours = (
                    translation.npgettext(entry.msgctxt, entry.msgid, entry.msgid_plural, 1)
                    if entry.msgctxt
                    else translation.ngettext(entry.msgid, entry.msgid_plural, 1)
                )
            elif entry.msgctxt:
                ours = translation.pgettext(entry.msgctxt, entry.msgid)
            else:
                ours = translation.gettext(entry.msgid)
            if "您" in ours:
                formal.append(entry.msgid)
    assert formal == []


def test_chinese_filters_say_any_and_the_sort_menu_is_translated(client, world):
    sheet = _get(client, world, reverse("topics:sheet"), None, "zh-hans")
    library = _get(client, world, reverse("library:index"), None, "zh-hans")
    for page in (sheet, library):
        for word in ("---------", "未知"):
            assert word not in page, page[page.find(word) - 600 : page.find(word) + 100]
        assert ">不限<" in page
    assert "descending" not in sheet and "状态（倒序）" in sheet
    english = _get(client, world, reverse("topics:sheet"), None, "en")
    assert ">Any<" in english and "Status, reversed" in english


def test_a_sub_theme_reads_in_the_page_language(client, world):
    url = reverse("topics:detail", args=[world["group"].pk])
    assert "NLP / scaling" in _get(client, world, url, None, "en")
    assert "NLP 之 scaling" in _get(client, world, url, None, "zh-hans")


def test_the_sheet_hides_closed_topics_behind_a_filter(client, world):
    page = _get(client, world, reverse("topics:sheet"), None, "en")
    assert "Mamba" in page and "Old idea" not in page
    assert 'data-action="show-closed"' in page
    url = reverse("topics:sheet") + "?status=rejected&status=withdrawn&status=cancelled"
    closed = _get(client, world, url, None, "en")
    assert "Old idea" in closed and "Mamba" not in closed
    assert 'data-action="show-closed"' not in closed

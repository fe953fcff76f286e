"""The promotion pack (topicshare/forum/promotion.py): a poster whose QR code a real decoder
reads back as the page's address, long titles that wrap inside the margins, an article in the
subset the official account's editor keeps, a group text, share cards on the pages, and who
may open the pack."""

import io
import re
from html.parser import HTMLParser

import pytest
import zxingcpp
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from PIL import Image, ImageDraw

from members.roles import Role
from sessions.models import TopicStatus
from sessions.topics.slots import track_slots
from sessions.weekly.scheduling import session_schedule
from tests.factories import TopicFactory, UserFactory
from topicshare.forum import promotion
from topicshare.forum.models import ForumSettings

pytestmark = pytest.mark.django_db
LONG_TITLE = (
    "基于大规模预训练语言模型的跨语言命名实体识别：从 BERT 到 XLM-RoBERTa 的迁移学习、"
    "数据增强与低资源场景下的领域自适应方法综述及实践经验分享"
)


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.TOPICSHARE_SITE_URL = "https://forum.example.org"
    ForumSettings.load()


def _session(title=LONG_TITLE, *, co_presenter=True):
    organiser = UserFactory(role=Role.ORGANISER)
    proposer = UserFactory(role=Role.MEMBER, display_name="王小明")
    topic = TopicFactory(status=TopicStatus.READY, title=title, proposer=proposer)
    if co_presenter:
        topic.co_presenters.add(UserFactory(role=Role.MEMBER, display_name="Alice Chen"))
    now = timezone.now()
    start = track_slots(track=topic.track, after=now)[0]
    return session_schedule(topic=topic, start=start, by=organiser, now=now)


def _png(response) -> Image.Image:
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    return Image.open(io.BytesIO(response.content))


def test_the_poster_is_portrait_and_its_qr_code_opens_the_session(client):
    session = _session()

    image = _png(client.get(reverse("session-poster", args=[session.pk])))

    assert image.size[0] >= 1080 and image.size[1] > image.size[0]
    codes = zxingcpp.read_barcodes(image)
    assert [code.text for code in codes] == [f"https://forum.example.org/sessions/{session.pk}/"]


def test_a_long_title_wraps_inside_the_margins_and_never_overflows():
    session = _session()
    draw = ImageDraw.Draw(Image.new("RGB", promotion.POSTER_SIZE))
    width = promotion.POSTER_SIZE[0] - 2 * 80

    font, lines = promotion._fit_title(draw, session.topic.title, width)

    assert 1 < len(lines) <= promotion.TITLE_LINES
    assert all(draw.textlength(line, font=font) <= width for line in lines)
    # Latin words are not cut in two (unless one is wider than a line).
    for word in ("BERT", "XLM-RoBERTa"):
        assert any(word in line for line in lines) or lines[-1].endswith("…")
    endless = promotion._fit_title(draw, "模型" * 400, width)[1]
    assert len(endless) == promotion.TITLE_LINES and endless[-1].endswith("…")


def test_the_poster_is_kept_until_the_session_changes(client, monkeypatch):
    session = _session(title="模型蒸馏入门")
    drawn = []
    original = promotion.poster_png
    monkeypatch.setattr(
        "topicshare.forum.promotion_views.poster_png",
        lambda *args, **kwargs: drawn.append(1) or original(*args, **kwargs),
    )
    url = reverse("session-poster", args=[session.pk])

    first = client.get(url).content
    assert client.get(url).content == first and len(drawn) == 1
    topic = session.topic
    topic.title = "模型蒸馏入门（第二版）"
    topic.save()

    assert client.get(url).content != first and len(drawn) == 2


def test_posters_only_for_what_is_promoted(client):
    rejected = TopicFactory(status=TopicStatus.REJECTED)
    recruiting = TopicFactory(status=TopicStatus.RECRUITING)

    assert client.get(reverse("topic-poster", args=[rejected.pk])).status_code == 404
    assert client.get(reverse("session-poster", args=[987654])).status_code == 404
    image = _png(client.get(reverse("topic-poster", args=[recruiting.pk])))
    codes = zxingcpp.read_barcodes(image)
    assert [code.text for code in codes] == [f"https://forum.example.org/topics/{recruiting.pk}/"]


def test_without_a_cjk_font_the_poster_says_what_to_install(client, settings):
    settings.TOPICSHARE_POSTER_FONTS = {"regular": "/nonexistent.ttc", "bold": "/nonexistent.ttc"}
    session = _session(title="没有字体")

    response = client.get(reverse("session-poster", args=[session.pk]))

    assert response.status_code == 503
    assert "fonts-noto-cjk" in response.content.decode()


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_the_article_keeps_to_what_the_official_account_editor_keeps():
    session = _session()
    topic = session.topic
    topic.summary = "## 动机\n\n为什么值得读：**跨语言** NER。\n\n<script>alert(1)</script>"
    topic.save()
    session.refresh_from_db()

    html = promotion.article_html(promotion.promotion_of_session(session), forum_name="论文组")
    parser = _Tags()
    parser.feed(html)

    allowed = {"section", "h1", "h2", "h3", "p", "div", "ul", "ol", "li", "strong", "em", "a",
               "br", "code", "blockquote"}  # fmt: skip
    assert {tag for tag, _attrs in parser.tags} <= allowed
    for _tag, attrs in parser.tags:
        assert (
            "class" not in attrs
            and "id" not in attrs
            and not any(name.startswith("on") for name in attrs)
        )
        assert set(attrs) <= {"style", "href"}
    assert "<script" not in html and "alert(1)" not in html.replace("&lt;", "<").split("<script")[0]
    assert "<img" not in html and "<link" not in html and "<style" not in html
    assert "王小明" in html and "跨语言" in html and "arxiv.org/abs/1706.03762" in html
    assert f"https://forum.example.org/sessions/{session.pk}/" in html


def test_the_group_text_has_the_time_the_link_and_how_to_get_the_meeting_details():
    session = _session(title="图神经网络入门")

    with translation.override("zh-hans"):
        text = promotion.group_text(promotion.promotion_of_session(session), forum_name="论文组")
    with translation.override("en"):
        english = promotion.group_text(promotion.promotion_of_session(session), forum_name="TS")

    assert text.splitlines()[0] == "【论文组】图神经网络入门"
    assert english.splitlines()[0] == "[TS] 图神经网络入门"
    assert "王小明, Alice Chen" in english and "(Beijing time)" in english
    assert "王小明、Alice Chen" in text
    assert f"https://forum.example.org/sessions/{session.pk}/" in text
    assert "20:30" in text and "北京时间" in text
    assert "登录后" in text  # where the meeting details are


def test_only_organisers_open_the_pack_which_has_the_poster_and_both_texts():
    session = _session(title="图神经网络入门")
    url = reverse("session-promote", args=[session.pk])
    member, organiser = Client(), Client()
    member.force_login(UserFactory(role=Role.MEMBER))
    organiser.force_login(UserFactory(role=Role.ORGANISER))

    assert Client().get(url).status_code == 302  # to the login page
    assert member.get(url).status_code == 403
    page = organiser.get(url, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    html = page.content.decode()
    assert reverse("session-poster", args=[session.pk]) in html
    assert 'data-action="copy-group-text"' in html and 'data-action="copy-article"' in html
    assert "【" in html and "图神经网络入门" in html


def test_the_inbox_links_a_topic_about_to_recruit_to_its_pack(organiser):
    from topicshare.forum.inbox import inbox_items

    topic = TopicFactory(
        status=TopicStatus.ACCEPTED,
        preferred_week=(timezone.now() + timezone.timedelta(days=15)).date(),
    )

    items = [item for item in inbox_items(now=timezone.now()) if item.kind == "promotion"]

    assert [item.action_url for item in items] == [reverse("topic-promote", args=[topic.pk])]


def _meta(html: str, name: str) -> str:
    found = re.search(rf'<meta property="{re.escape(name)}" content="([^"]*)"', html)
    return found.group(1) if found else ""


def test_topic_session_and_library_pages_carry_share_cards(client):
    session = _session(title="图神经网络入门")
    recruiting = TopicFactory(status=TopicStatus.RECRUITING, title="对比学习")

    pages = {
        "session": client.get(reverse("sessions:detail", args=[session.pk])).content.decode(),
        "topic": client.get(reverse("topics:detail", args=[recruiting.pk])).content.decode(),
        "library": client.get(reverse("library:index")).content.decode(),
    }

    assert _meta(pages["session"], "og:title") == "图神经网络入门"
    assert _meta(pages["session"], "og:image") == (
        f"https://forum.example.org/sessions/{session.pk}/poster.png"
    )
    assert "王小明" in _meta(pages["session"], "og:description")
    assert _meta(pages["topic"], "og:title") == "对比学习"
    assert _meta(pages["topic"], "og:image").endswith(f"/topics/{recruiting.pk}/poster.png")
    assert _meta(pages["library"], "og:image").startswith("https://forum.example.org/static/")
    for html in pages.values():
        assert _meta(html, "og:url").startswith("https://forum.example.org/")
        assert _meta(html, "og:site_name")

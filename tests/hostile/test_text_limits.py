"""Every text people write has a length limit, in the form (maxlength and a message) and in
the model (validators, and a refusal on save for writes that skip validation); and stored
markdown is rendered once, when it is saved, never on a page view."""

import datetime
import io

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import models
from django.urls import reverse
from django.utils import timezone

from library.models import LibraryItem
from library.services import item_update_materials
from members.ledger.models import LedgerExemption
from members.models import Application, Vote
from members.roles import Role
from sessions.models import (
    SessionChange,
    Task,
    Topic,
    TopicTransition,
    WeeklySession,
)
from sessions.topics.csv_io import topics_export_csv, topics_import_csv
from sessions.topics.services import topic_propose, topic_update
from tests.factories import TopicFactory, TrackFactory, UserFactory
from topicshare.core.limits import (
    ARTICLE_HTML_MAX_CHARS,
    CHECKED_APPS,
    LONG_TEXT_MAX_CHARS,
    MARKDOWN_MAX_CHARS,
    REASON_MAX_CHARS,
)
from topicshare.core.markup import render_markdown, render_stored_markdown
from topicshare.forum.models import ForumSettings

pytestmark = pytest.mark.django_db

# Text the forum writes itself, or derives from what people wrote (bounded there).
SYSTEM_WRITTEN = {
    "topicshare.Notification.body_text",
    "topicshare.Notification.body_html",
    "topicshare.Notification.last_error",
    "topicshare.BackupRun.error",  # the exception text of a failed run, cut at 10,000
    "library.LibraryItem.search_text",
    "library.LibraryItem.summary_html",
    "topic_sessions.Topic.summary_html",
}

LIMITS = [
    (Topic, "summary", MARKDOWN_MAX_CHARS),
    (Topic, "reason", REASON_MAX_CHARS),
    (TopicTransition, "reason", REASON_MAX_CHARS),
    (Task, "notes", LONG_TEXT_MAX_CHARS),
    (WeeklySession, "organiser_note", REASON_MAX_CHARS),
    (WeeklySession, "cancel_reason", REASON_MAX_CHARS),
    (SessionChange, "reason", REASON_MAX_CHARS),
    (Application, "motivation", LONG_TEXT_MAX_CHARS),
    (Application, "review_notes", LONG_TEXT_MAX_CHARS),
    (Application, "feedback", LONG_TEXT_MAX_CHARS),
    (Vote, "comment", LONG_TEXT_MAX_CHARS),
    (LedgerExemption, "reason", REASON_MAX_CHARS),
    (LibraryItem, "summary", MARKDOWN_MAX_CHARS),
    (LibraryItem, "note", LONG_TEXT_MAX_CHARS),
    (LibraryItem, "content_html", ARTICLE_HTML_MAX_CHARS),
    (ForumSettings, "join_instructions", LONG_TEXT_MAX_CHARS),
]


def _text_fields():
    for app_label in sorted(CHECKED_APPS):
        for model in apps.get_app_config(app_label).get_models():
            for field in model._meta.concrete_fields:
                if isinstance(field, models.TextField | models.CharField):
                    yield f"{app_label}.{model.__name__}.{field.name}", field


def test_every_text_field_people_write_has_an_enforced_limit():
    unbounded = []
    for name, field in _text_fields():
        if name in SYSTEM_WRITTEN:
            continue
        limit = field.max_length
        enforced = limit is not None and any(
            getattr(validator, "limit_value", None) == limit for validator in field.validators
        )
        if not enforced:
            unbounded.append(name)
    assert unbounded == []


@pytest.mark.parametrize(
    ("model", "name", "limit"), LIMITS, ids=[f"{m.__name__}.{n}" for m, n, _l in LIMITS]
)
def test_model_validation_refuses_text_over_the_limit(model, name, limit):
    field = model._meta.get_field(name)
    field.run_validators("x" * limit)

    with pytest.raises(ValidationError) as error:
        field.run_validators("x" * (limit + 1))

    assert error.value.messages == [
        f"Ensure this value has at most {limit} characters (it has {limit + 1})."
    ]


# --- The attack: a preview of 1.5 million "[" ----------------------------------------------


def _topic_post(track, **fields) -> dict:
    return {
        "title": "BERT",
        "track": track.pk,
        "summary": "",
        "paper_links": "https://arxiv.org/abs/1810.04805",
        "capacity": 6,
        **fields,
    }


def test_preview_of_a_huge_summary_is_a_form_error_not_a_render(client, audience):
    track = TrackFactory(slug="nlp")
    client.force_login(audience)

    response = client.post(
        reverse("topics:new"), _topic_post(track, summary="[" * 1_500_000, preview="1")
    )

    assert response.status_code == 200
    assert response.context["preview"] is None
    assert response.context["form"].errors["summary"] == [
        "最多 20000 个字符（现在有 1500000 个）。"
    ]
    assert Topic.objects.count() == 0


def test_preview_with_an_unfinished_form_renders_a_summary_within_the_limit(client, audience):
    client.force_login(audience)

    response = client.post(reverse("topics:new"), {"summary": "**粗体**", "preview": "1"})

    assert "title" in response.context["form"].errors
    assert str(response.context["preview"]) == "<p><strong>粗体</strong></p>\n"


def test_the_summary_textarea_says_its_limit_and_counts_lines_as_the_browser_does(client, audience):
    track = TrackFactory(slug="nlp")
    client.force_login(audience)
    page = client.get(reverse("topics:new")).content.decode()
    assert 'maxlength="20000"' in page
    # The browser counts a line break as one character but sends CRLF.
    text = "第一行\n" * (MARKDOWN_MAX_CHARS // 4)
    assert len(text) == MARKDOWN_MAX_CHARS

    response = client.post(
        reverse("topics:new"), _topic_post(track, summary=text.replace("\n", "\r\n"))
    )

    assert response.status_code == 302
    assert Topic.objects.get().summary == text.strip()


def test_save_refuses_overlong_text_that_skipped_validation():
    topic = TopicFactory()

    with pytest.raises(ValidationError) as error:
        TopicTransition.objects.create(topic=topic, to_status="cancelled", reason="x" * 5_000)

    assert list(error.value.message_dict) == ["reason"]
    assert TopicTransition.objects.filter(topic=topic).count() == 0
    # Only the saved fields are checked: an old overlong row can still change its status.
    Topic.objects.filter(pk=topic.pk).update(summary="x" * (MARKDOWN_MAX_CHARS + 1))
    old = Topic.objects.get(pk=topic.pk)
    old.status = "accepted"
    old.save(update_fields=["status"])
    with pytest.raises(ValidationError):
        old.save()


def test_organiser_note_over_the_limit_is_a_form_error(client, organiser):
    topic = TopicFactory(status="scheduled")
    session = WeeklySession.objects.create(
        topic=topic, track=topic.track, start=timezone.now() + datetime.timedelta(days=3)
    )
    client.force_login(organiser)

    response = client.post(
        reverse("sessions:manage", args=[session.pk]),
        {"action": "meeting", "organiser_note": "备注" * REASON_MAX_CHARS},
    )

    assert response.status_code == 200
    assert "organiser_note" in response.context["meeting_form"].errors
    session.refresh_from_db()
    assert session.organiser_note == ""


def test_too_many_paper_links_are_refused(client, audience):
    track = TrackFactory(slug="nlp")
    client.force_login(audience)
    links = "\n".join(f"https://arxiv.org/abs/{n}" for n in range(21))

    response = client.post(reverse("topics:new"), _topic_post(track, paper_links=links))

    assert response.status_code == 200
    assert response.context["form"].errors["paper_links"] == ["最多给出 20 个论文链接。"]


# --- Rendered once, when saved -------------------------------------------------------------


def test_a_proposed_topic_stores_its_rendered_summary(audience):
    track = TrackFactory(slug="nlp")

    topic = topic_propose(
        proposer=audience, track=track, title="BERT", summary="**预训练** <script>x</script>",
        paper_links=["https://arxiv.org/abs/1810.04805"],
    )  # fmt: skip

    stored = Topic.objects.get(pk=topic.pk).summary_html
    assert stored == "<p><strong>预训练</strong> &lt;script&gt;x&lt;/script&gt;</p>\n"


def test_editing_the_summary_renders_it_again_and_other_edits_keep_it(audience):
    topic = TopicFactory(proposer=audience, summary="old")

    topic_update(topic=topic, by=audience, summary="*new*")
    assert Topic.objects.get(pk=topic.pk).summary_html == "<p><em>new</em></p>\n"

    Topic.objects.filter(pk=topic.pk).update(summary_html="<p>kept</p>")
    topic_update(topic=Topic.objects.get(pk=topic.pk), by=audience, capacity=9)
    assert Topic.objects.get(pk=topic.pk).summary_html == "<p>kept</p>"


def _marked(topic_or_item):
    """The stored HTML replaced by a marker: a page that renders the source shows no marker."""
    type(topic_or_item).objects.filter(pk=topic_or_item.pk).update(
        summary_html="<p>stored-html-marker</p>"
    )


def test_topic_and_session_pages_show_the_stored_html(client, audience):
    topic = TopicFactory(summary="**source text**", status="scheduled")
    session = WeeklySession.objects.create(
        topic=topic, track=topic.track, start=timezone.now() + datetime.timedelta(days=3)
    )
    _marked(topic)
    client.force_login(audience)

    for url in (
        reverse("topics:detail", args=[topic.pk]),
        reverse("sessions:detail", args=[session.pk]),
    ):
        page = client.get(url).content.decode()
        assert "stored-html-marker" in page
        assert "<strong>source text</strong>" not in page


def test_library_page_shows_the_stored_html(client, organiser):
    item = LibraryItem.objects.create(title="BERT", summary="*first*")
    assert item.summary_html == "<p><em>first</em></p>\n"
    item_update_materials(item=item, by=organiser, summary="**second**")
    assert LibraryItem.objects.get(pk=item.pk).summary_html == "<p><strong>second</strong></p>\n"
    _marked(item)

    page = client.get(reverse("library:detail", args=[item.pk])).content.decode()

    assert "stored-html-marker" in page
    assert "<strong>second</strong>" not in page


def test_imported_topics_get_their_rendered_summary(organiser):
    TrackFactory(slug="nlp")
    proposer = UserFactory(role=Role.AUDIENCE)
    data = f"title,track,proposer,summary\nBERT,nlp,{proposer.email},**导入**\n"

    report = topics_import_csv(data=data, by=organiser, dry_run=False)

    assert report.errors == []
    assert Topic.objects.get().summary_html == "<p><strong>导入</strong></p>\n"


def test_an_overlong_summary_in_an_import_is_a_line_error(organiser):
    TrackFactory(slug="nlp")
    topic = TopicFactory()
    Topic.objects.filter(pk=topic.pk).update(summary="x" * (MARKDOWN_MAX_CHARS + 1))
    exported = io.StringIO()
    topics_export_csv(topics=Topic.objects.all(), out=exported)
    Topic.objects.filter(pk=topic.pk).update(summary="short")

    report = topics_import_csv(data=exported.getvalue(), by=organiser, dry_run=False)

    assert [line for line, _message in report.errors] == [2]
    assert "summary" in report.errors[0][1]
    assert Topic.objects.get(pk=topic.pk).summary == "short"


def test_stored_rows_are_rendered_by_the_data_migration_function():
    topics = [TopicFactory(summary=f"**{n}**") for n in range(3)]
    Topic.objects.update(summary_html="")

    render_stored_markdown(Topic, batch_size=2)

    assert [Topic.objects.get(pk=t.pk).summary_html for t in topics] == [
        str(render_markdown(f"**{n}**")) for n in range(3)
    ]


def test_library_import_cuts_an_overlong_note_and_says_so(tmp_path):
    reading_list = tmp_path / "tech-article-reading-list.md"
    reading_list.write_text(
        "# 推荐\n\n- [一篇文章](https://example.org/a) " + "长评" * LONG_TEXT_MAX_CHARS + "\n",
        encoding="utf-8",
    )
    out = io.StringIO()

    call_command("import_library", str(reading_list), stdout=out, stderr=out)

    item = LibraryItem.objects.get()
    assert len(item.note) == LONG_TEXT_MAX_CHARS
    assert "cut short" in out.getvalue()

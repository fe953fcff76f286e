"""A member's own data on the profile: "download my data" (what the archive holds and never
holds, who may have it, how often, how large) and "delete my account" end to end (password,
the e-mailed link, the final step, what is erased and kept, the e-mails, the inbox)."""

import datetime
import io
import json
import re
import time
import zipfile

import pytest
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.conf import settings
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone, translation

from library.models import LibraryItem
from members.api_tokens import api_token_create
from members.ledger.models import AttendanceImport
from members.models import Application, AuditEvent, User, Vote, neutral_name_of
from members.personal_data import personal_data_erase
from members.roles import Role
from sessions.models import (
    RSVP,
    Attendance,
    Participation,
    Task,
    TopicInterest,
    TopicStatus,
    WaitlistEntry,
    WeeklySession,
)
from tests.factories import PASSWORD, TopicFactory, TrackFactory, UserFactory
from tests.members.test_personal_data import rows_naming
from topicshare.core.pagecache import bump_content_version, bump_data_version
from topicshare.forum.models import AccountDeletion
from topicshare.notifications.models import (
    Notification,
    NotificationKind,
    NotificationOptOut,
    WebhookDelivery,
    WebhookEndpoint,
)

pytestmark = pytest.mark.django_db
S = TopicStatus
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
NAME, EMAIL, ALT, WECHAT = (
    "Zhang Weiming",
    "weiming.zhang@example.org",
    "zwm.alt@example.org",
    "wx_zwm_88",
)
OTHER_EMAIL = "li.hua@example.org"
OTHER_COMMENT = "Li Hua's own assessment: not yet"


@pytest.fixture(autouse=True)
def english(client):
    """These tests read the English messages (the Chinese catalogue is compiled)."""
    client.cookies["django_language"] = "en"


def _notify(recipient, *, title, body, status=Notification.Status.PENDING):
    now = timezone.now()
    return Notification.objects.create(
        kind=NotificationKind.DAY_BEFORE, subject_type=ContentType.objects.get_for_model(User),
        subject_id=recipient.pk, occasion=f"o{Notification.objects.count()}", recipient=recipient,
        title=title, body_text=body, due_at=now, next_attempt_at=now, status=status,
    )  # fmt: skip


def _world():
    """Me (a committee member) with a row of everything the issue names, and others around."""
    me = UserFactory(display_name=NAME, email=EMAIL, wechat_id=WECHAT, role=Role.COMMITTEE)
    EmailAddress.objects.create(user=me, email=ALT, verified=False, primary=False)
    SocialAccount.objects.create(user=me, provider="openid", uid="zwm-openid")
    other = UserFactory(display_name="Li Hua", email=OTHER_EMAIL, role=Role.COMMITTEE)
    waiting = UserFactory(role=Role.MEMBER)
    organiser = UserFactory(role=Role.ORGANISER)
    track = TrackFactory(slug="nlp")
    now = timezone.now()

    presented = TopicFactory(track=track, proposer=me, status=S.PRESENTED, title="My BERT talk")
    past = WeeklySession.objects.create(
        topic=presented, track=track, start=now - datetime.timedelta(days=7), status="done"
    )
    item = LibraryItem.objects.create(title="My BERT talk", domain=track, session=past)
    item.presenters.add(me)
    item.slides_name = "bert.pdf"
    item.slides_file.save("bert.pdf", ContentFile(PDF), save=True)
    open_topic = TopicFactory(track=track, proposer=me, title="My open proposal")

    group = TopicFactory(track=track, proposer=other, status=S.RECRUITING, capacity=1)
    Participation.objects.create(topic=group, user=me, role=Participation.Role.PARTICIPANT)
    WaitlistEntry.objects.create(topic=group, user=waiting)
    task = Task.objects.create(topic=group, title="Survey the baselines", assignee=me,
                               status=Task.Status.DOING)  # fmt: skip
    wanted = TopicFactory(track=track, proposer=other, title="A topic I want", interest_count=1)
    TopicInterest.objects.create(topic=wanted, user=me)
    future = WeeklySession.objects.create(
        topic=TopicFactory(track=track, proposer=other, status=S.SCHEDULED), track=track,
        start=now + datetime.timedelta(days=7),
    )  # fmt: skip
    RSVP.objects.create(session=future, user=me)
    RSVP.objects.create(session=past, user=me)
    Attendance.objects.create(session=past, user=me, how=Attendance.How.SELF)

    application = Application.objects.create(
        applicant=me, motivation="I, Zhang Weiming, love NLP", paper_title="BERT",
        paper_url="https://arxiv.org/abs/1810.04805", status=Application.Status.APPROVED,
        feedback="Welcome aboard", decided_at=now,
    )  # fmt: skip
    application.slides_name = "review.pdf"
    application.slides.save("review.pdf", ContentFile(PDF), save=True)
    # Someone else's ballot on my application, and its audit event: never in my archive.
    Vote.objects.create(application=application, voter=other, choice="reject",
                        comment=OTHER_COMMENT)  # fmt: skip
    AuditEvent.objects.create(actor=other, action=AuditEvent.Action.VOTE_CAST,
                              application=application, subject_user=me,
                              details={"choice": "reject"})  # fmt: skip
    AuditEvent.objects.create(
        actor=None, action=AuditEvent.Action.DECISION, application=application, subject_user=me,
        details={"outcome": "approved", "approve": 2, "reject": 1},
    )  # fmt: skip
    theirs_open = Application.objects.create(
        applicant=waiting, motivation="m", paper_title="ViT", paper_url="https://a.org/vit"
    )
    theirs_decided = Application.objects.create(
        applicant=other, motivation="m", paper_title="GPT", paper_url="https://a.org/gpt",
        status=Application.Status.APPROVED, decided_at=now,
    )  # fmt: skip
    Vote.objects.create(
        application=theirs_open, voter=me, choice="approve", comment="Strong, says Zhang Weiming"
    )
    Vote.objects.create(application=theirs_decided, voter=me, choice="approve", comment="Good")
    Vote.objects.create(application=theirs_decided, voter=other, choice="abstain",
                        comment=OTHER_COMMENT)  # fmt: skip
    AuditEvent.objects.create(actor=me, action=AuditEvent.Action.VOTE_CAST,
                              application=theirs_decided, subject_user=other,
                              details={"choice": "approve"})  # fmt: skip

    api_token_create(user=me, name="my script", scope="read")
    NotificationOptOut.objects.create(user=me, kind=NotificationKind.PROMOTION)
    _notify(me, title="Tomorrow: My BERT talk", body=f"Hi {NAME}, see you tomorrow")
    _notify(me, title="Sent earlier", body="Hello", status=Notification.Status.SENT)
    told = _notify(other, title=f"{NAME} joined your group", body=f"{NAME} ({EMAIL}) joined")
    LogEntry.objects.create(
        user=organiser, content_type=ContentType.objects.get_for_model(User),
        object_id=str(me.pk), object_repr=NAME, action_flag=CHANGE, change_message="[]",
    )  # fmt: skip
    AttendanceImport.objects.create(
        session=past, token="t-zwm", sha256="x" * 64, file_name="participants.csv", kind="csv",
        table={"rows": [[NAME, EMAIL, "60"], ["Li Hua", OTHER_EMAIL, "50"]], "lines": [3, 4]},
        picks={EMAIL: me.pk}, uploaded_by=organiser,
    )  # fmt: skip
    endpoint = WebhookEndpoint.objects.create(url="https://hooks.example.org/x", events=[],
                                              secret="whsec_x")  # fmt: skip
    WebhookDelivery.objects.create(
        endpoint=endpoint, event_type="member.admitted", key=f"member.admitted:{me.pk}:1",
        message_id="msg_1", payload={"type": "member.admitted",
                                     "data": {"id": me.pk, "display_name": NAME}},
        next_attempt_at=now,
    )  # fmt: skip
    return {
        "me": me, "other": other, "waiting": waiting, "organiser": organiser,
        "presented": presented, "open_topic": open_topic, "group": group, "task": task,
        "wanted": wanted, "future": future, "past": past, "item": item,
        "application": application, "theirs_open": theirs_open,
        "theirs_decided": theirs_decided, "told": told,
    }  # fmt: skip


def _archive(response) -> tuple[dict, set[str]]:
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)
                                         if response.streaming else response.content))  # fmt: skip
    return json.loads(archive.read("data.json")), set(archive.namelist())


# --- download my data ------------------------------------------------------------------------


def test_my_data_holds_everything_of_mine_and_nothing_of_others(client):
    w = _world()
    client.force_login(w["me"])

    response = client.post(reverse("data-export"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="topicshare-my-data-')
    data, names = _archive(response)
    assert data["account"] == w["me"].pk
    assert data["profile"]["email"] == EMAIL
    assert data["profile"]["wechat_id"] == WECHAT
    assert [a["email"] for a in data["profile"]["email_addresses"]] == [EMAIL, ALT]
    assert {p["title"] for p in data["proposals"]} == {"My BERT talk", "My open proposal"}
    assert [(g["title"], g["role"]) for g in data["groups"]] == [
        ("My BERT talk", "proposer"), ("My open proposal", "proposer"),
        (w["group"].title, "participant"),
    ]  # fmt: skip
    assert [t["task"] for t in data["tasks"]] == ["Survey the baselines"]
    assert [r["session"] for r in data["rsvps"]] == [w["future"].pk, w["past"].pk]
    assert [a["session"] for a in data["attendance"]] == [w["past"].pk]
    assert [i["title"] for i in data["want_to_hear"]] == ["A topic I want"]
    assert [a["paper_title"] for a in data["applications"]] == ["BERT"]
    assert data["applications"][0]["committee_feedback"] == "Welcome aboard"
    assert sorted((b["application"], b["vote"]) for b in data["my_ballots"]) == [
        (w["theirs_open"].pk, "approve"), (w["theirs_decided"].pk, "approve"),
    ]  # fmt: skip
    assert {n["subject_line"] for n in data["notices_to_me"]} == {
        "Tomorrow: My BERT talk", "Sent earlier"
    }  # fmt: skip
    assert data["email_opt_outs"] == [NotificationKind.PROMOTION]
    assert [t["name"] for t in data["api_tokens"]] == ["my script"]
    assert [t["title"] for t in data["library"]["talks_i_presented"]] == ["My BERT talk"]
    assert {n for n in names if n.startswith("files/")} == {
        f"files/applications/{w['application'].pk}-review.pdf",
        f"files/library/{w['item'].pk}-bert.pdf",
    }
    # ISO datetimes in Asia/Shanghai
    assert data["profile"]["joined"].endswith("+08:00")
    # Ballot secrecy: no other voter's ballot, comment or vote event; no tally.
    text = json.dumps(data, ensure_ascii=False)
    assert OTHER_COMMENT not in text
    assert OTHER_EMAIL not in text
    assert "abstain" not in text and "reject" not in text
    decision = [e for e in data["audit_trail"] if e["action"] == "decision"]
    assert [e["details"] for e in decision] == [{"outcome": "approved"}]
    assert all(e["by_me"] for e in data["audit_trail"] if e["action"] == "vote_cast")


def test_my_data_is_only_ever_mine(client):
    w = _world()
    client.force_login(w["other"])

    response = client.post(reverse("data-export") + f"?user={w['me'].pk}", {"user": w["me"].pk})

    data, _names = _archive(response)
    assert data["account"] == w["other"].pk
    text = json.dumps(data, ensure_ascii=False)
    assert EMAIL not in text and WECHAT not in text


def test_anonymous_visitors_are_sent_to_the_login_for_my_data(client):
    for method in (client.get, client.post):
        response = method(reverse("data-export"))
        assert response.status_code == 302
        assert response.url.startswith(reverse("account_login"))


def test_my_data_can_be_downloaded_once_every_few_minutes(client, member):
    client.force_login(member)
    assert client.post(reverse("data-export")).status_code == 200

    again = client.post(reverse("data-export"), follow=True)

    assert again.redirect_chain == [(reverse("profile"), 302)]
    assert "You can download it again from " in again.content.decode()


def test_an_archive_larger_than_the_cap_is_refused_with_the_reason(client, settings):
    settings.TOPICSHARE_DATA_EXPORT_MAX_MB = 0
    w = _world()
    client.force_login(w["me"])

    refused = client.post(reverse("data-export"), follow=True)

    assert refused.redirect_chain == [(reverse("profile"), 302)]
    assert "more than the 0 MB a download may hold" in refused.content.decode()
    settings.TOPICSHARE_DATA_EXPORT_MAX_MB = 100
    assert client.post(reverse("data-export")).status_code == 200  # the refusal did not count


# --- delete my account -----------------------------------------------------------------------


def _link(mail) -> str:
    return re.search(r"https?://[^/\s]+(/profile/delete/[^/\s]+/)", mail.body).group(1)


def test_deleting_my_account_end_to_end(client, mailoutbox, django_capture_on_commit_callbacks):
    w = _world()
    me = w["me"]
    client.force_login(me)

    page = client.get(reverse("account-delete"))
    assert page.status_code == 200
    assert 'data-role="kept"' in page.content.decode()
    wrong = client.post(reverse("account-delete"), {"password": "not it"})
    assert wrong.status_code == 400
    assert "That is not your password." in wrong.content.decode()
    assert mailoutbox == []

    asked = client.post(reverse("account-delete"), {"password": PASSWORD})

    assert asked.status_code == 302
    assert [m.to for m in mailoutbox] == [[EMAIL]]
    link = _link(mailoutbox[0])
    assert AccountDeletion.objects.get(user=me).done_at is None
    organiser = client.__class__()
    organiser.cookies["django_language"] = "en"
    organiser.force_login(w["organiser"])
    inbox = organiser.get(reverse("inbox")).content.decode()
    assert f"{NAME} asked to delete their account" in inbox

    confirm_page = client.get(link)
    assert confirm_page.status_code == 200
    assert me.__class__.objects.get(pk=me.pk).deleted_at is None  # a GET changes nothing

    slides = [w["application"].slides.name, w["item"].slides_file.name]
    storage = w["application"].slides.storage
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(link)

    assert done.status_code == 200
    assert 'data-role="deleted"' in done.content.decode()
    me.refresh_from_db()
    assert me.deleted_at is not None and me.name == f"Former member {me.pk}"
    # signed out, and no way back in
    assert "_auth_user_id" not in client.session
    assert client.login(email=EMAIL, password=PASSWORD) is False
    assert client.get(reverse("me")).status_code == 302
    # the last e-mail, to the address I had
    assert [m.to for m in mailoutbox] == [[EMAIL], [EMAIL]]
    # in the member's language (Chinese, the forum's default)
    assert "你的账号已注销" in mailoutbox[1].subject
    # nothing anywhere names me any more
    assert rows_naming([NAME, EMAIL, ALT, WECHAT]) == []
    # erased: what was still to come, freeing the places
    assert not RSVP.objects.filter(session=w["future"], user=me).exists()
    assert list(w["group"].participations.values_list("user_id", flat=True)) == [
        w["group"].proposer_id, w["waiting"].pk
    ]  # fmt: skip
    w["task"].refresh_from_db()
    assert (w["task"].assignee_id, w["task"].status) == (None, Task.Status.TODO)
    w["wanted"].refresh_from_db()
    assert w["wanted"].interest_count == 0
    assert not TopicInterest.objects.filter(user=me).exists()
    assert not me.api_tokens.exists()
    assert not EmailAddress.objects.filter(user=me).exists()
    assert not SocialAccount.objects.filter(user=me).exists()
    assert not NotificationOptOut.objects.filter(user=me).exists()
    assert not Notification.objects.filter(recipient=me).exists()
    assert not Vote.objects.filter(application=w["theirs_open"], voter=me).exists()
    # kept, under the neutral name
    w["presented"].refresh_from_db()
    assert w["presented"].proposer_id == me.pk
    assert list(w["item"].presenters.all()) == [me]
    assert Attendance.objects.filter(session=w["past"], user=me).exists()
    assert RSVP.objects.filter(session=w["past"], user=me).exists()
    assert AuditEvent.objects.filter(actor=me, action=AuditEvent.Action.VOTE_CAST).exists()
    assert list(Vote.objects.filter(application=w["theirs_decided"], voter=me).values_list(
        "choice", "comment")) == [("approve", "")]  # fmt: skip
    w["application"].refresh_from_db()
    assert (w["application"].status, w["application"].motivation) == ("approved", "")
    assert not w["application"].slides
    assert [storage.exists(name) for name in slides] == [False, True]  # a talk keeps its slides
    w["told"].refresh_from_db()
    # stored texts take the name in the forum's language (members/personal_data.py)
    assert w["told"].title == f"已注销成员 {me.pk} joined your group"
    # the organisers see it done, by the neutral name
    bump_data_version()  # what the commit does (the test's transaction never commits)
    inbox = organiser.get(reverse("inbox")).content.decode()
    assert f"Former member {me.pk} deleted their account" in inbox
    # the link works once
    again = client.get(link)
    assert again.status_code == 400
    assert "already deleted" in again.content.decode()


def test_a_forged_link_is_refused_with_a_clear_message(client, member, mailoutbox):
    client.force_login(member)
    client.post(reverse("account-delete"), {"password": PASSWORD})
    link = _link(mailoutbox[0])
    client.logout()
    client.cookies["django_language"] = "en"

    forged = client.post(link[:-3] + "xx/")

    assert forged.status_code == 400
    assert "This link is not valid." in forged.content.decode()
    member.refresh_from_db()
    assert member.deleted_at is None and member.is_active


def test_an_expired_link_is_refused_with_a_clear_message(client, member, mailoutbox, monkeypatch):
    real = time.time
    monkeypatch.setattr("django.core.signing.time.time", lambda: real() - 25 * 3600)
    client.force_login(member)
    client.post(reverse("account-delete"), {"password": PASSWORD})
    monkeypatch.setattr("django.core.signing.time.time", real)

    expired = client.post(_link(mailoutbox[0]))

    assert expired.status_code == 400
    assert "This link has expired." in expired.content.decode()
    member.refresh_from_db()
    assert member.deleted_at is None


def test_asking_again_makes_the_earlier_link_useless(client, member, mailoutbox):
    client.force_login(member)
    client.post(reverse("account-delete"), {"password": PASSWORD})
    client.post(reverse("account-delete"), {"password": PASSWORD})
    first, second = _link(mailoutbox[0]), _link(mailoutbox[1])

    stale = client.post(first)

    assert stale.status_code == 400
    assert "A newer link was sent" in stale.content.decode()
    assert AccountDeletion.objects.filter(user=member).count() == 1
    assert client.get(second).status_code == 200


def test_a_link_is_refused_to_someone_else_signed_in(client, member, audience, mailoutbox):
    client.force_login(member)
    client.post(reverse("account-delete"), {"password": PASSWORD})
    client.force_login(audience)

    refused = client.post(_link(mailoutbox[0]))

    assert refused.status_code == 400
    assert "for another account" in refused.content.decode()
    member.refresh_from_db()
    assert member.deleted_at is None


def test_the_last_organiser_is_told_why_and_nothing_is_sent(client, organiser, mailoutbox):
    client.force_login(organiser)

    page = client.get(reverse("account-delete"))
    asked = client.post(reverse("account-delete"), {"password": PASSWORD})

    assert 'data-role="refusal"' in page.content.decode()
    assert "last organiser" in asked.content.decode()
    assert mailoutbox == []
    assert not AccountDeletion.objects.exists()


def test_an_account_without_password_is_asked_to_sign_in_again(client, mailoutbox):
    social_only = UserFactory()
    social_only.set_unusable_password()
    social_only.save()
    client.force_login(social_only)

    page = client.get(reverse("account-delete"))
    asked = client.post(reverse("account-delete"), {})

    assert page.status_code == 200
    assert asked.status_code == 302
    assert asked.url.startswith(reverse("account_reauthenticate"))
    assert mailoutbox == []


def test_deleting_my_account_scrubs_my_name_from_what_i_wrote_and_the_forum_keeps(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    """Found by .ci/member_data_roundtrip.py: the kept proposals, tasks and library talks
    still gave the person's name and address (a summary "contact me at …", a talk's title)."""
    me = UserFactory(display_name=NAME, email=EMAIL, wechat_id=WECHAT, role=Role.MEMBER)
    other = UserFactory(display_name="Li Hua", email=OTHER_EMAIL, role=Role.MEMBER)
    track = TrackFactory(slug="cv")
    topic = TopicFactory(
        track=track, proposer=me, status=S.PRESENTED, title=f"{NAME} on ViT",
        summary=f"Questions to {EMAIL.upper()} or WeChat {WECHAT}.",
    )  # fmt: skip
    topic.save()  # renders summary_html, which holds the address too
    assert EMAIL.upper() in topic.summary_html
    theirs = TopicFactory(track=track, proposer=other, title="Li Hua's own topic",
                          summary=f"Li Hua ({OTHER_EMAIL}) leads it.")  # fmt: skip
    task = Task.objects.create(topic=topic, title=f"Slides by {NAME}", assignee=me,
                               status=Task.Status.DONE, notes=f"ask {EMAIL}")  # fmt: skip
    item = LibraryItem.objects.create(title=f"{NAME}: ViT explained", domain=track)
    item.presenters.add(me)
    client.force_login(me)
    client.post(reverse("account-delete"), {"password": PASSWORD})

    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(_link(mailoutbox[0])).status_code == 200

    me.refresh_from_db()
    with translation.override(settings.LANGUAGE_CODE):  # as the forum keeps it
        neutral = neutral_name_of(me.pk)
    topic.refresh_from_db()
    assert topic.title == f"{neutral} on ViT"
    assert topic.summary == f"Questions to {neutral} or WeChat {neutral}."
    assert EMAIL.upper() not in topic.summary_html and neutral in topic.summary_html
    task.refresh_from_db()
    assert (task.title, task.notes, task.assignee_id) == (f"Slides by {neutral}", f"ask {neutral}",
                                                          me.pk)  # fmt: skip
    item.refresh_from_db()
    assert item.title == f"{neutral}: ViT explained"
    theirs.refresh_from_db()
    assert (theirs.title, theirs.summary) == (
        "Li Hua's own topic",
        f"Li Hua ({OTHER_EMAIL}) leads it.",
    )
    assert rows_naming([NAME, EMAIL, EMAIL.upper(), WECHAT]) == []


def test_the_library_list_stops_showing_my_name_once_my_account_is_deleted(client):
    """Found by .ci/member_data_roundtrip.py: the library's rows are cached by the item's
    updated_at, so /library/ kept showing the deleted person as presenter for a day."""
    me = UserFactory(display_name=NAME, email=EMAIL, role=Role.MEMBER)
    item = LibraryItem.objects.create(title="ViT explained", domain=TrackFactory(slug="cv"))
    item.presenters.add(me)
    assert NAME in client.get(reverse("library:index")).content.decode()  # the row is cached

    personal_data_erase(user=me)
    bump_content_version()  # what the commit does (the test's transaction never commits)

    page = client.get(reverse("library:index")).content.decode()
    assert "ViT explained" in page
    assert NAME not in page

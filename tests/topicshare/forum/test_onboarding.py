"""Onboarding into the WeChat groups: admission and removal put people on the organisers'
checklist (/staff/onboarding/), ticked off and undone there; the inbox counts them without a
query of its own; members see the study group's QR code (a private file) and steps on /me/
and in the admission e-mail; nobody else does."""

import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from members.admission import (
    application_close,
    application_schedule_review,
    application_set_feedback,
    application_submit,
    vote_cast,
)
from members.ledger.services import season_removals_confirm
from members.models import User
from members.roles import Role, RoleChangeCause
from members.services import role_set
from sessions.models import Season, SessionStatus, TopicStatus, WeeklySession
from tests.factories import TopicFactory, TrackFactory, UserFactory
from topicshare.core.pagecache import bump_content_version, bump_data_version
from topicshare.forum.inbox import inbox_items
from topicshare.forum.models import ForumSettings, GroupChange
from topicshare.forum.onboarding import (
    GroupChangeError,
    group_change_tick,
    group_changes_waiting,
)
from topicshare.notifications.models import Notification, NotificationKind

pytestmark = pytest.mark.django_db
ADD, REMOVE = GroupChange.Change.ADD, GroupChange.Change.REMOVE
STEPS = "加群主微信 topicshare-admin，备注 TopicShare"
EN = {"accept-language": "en"}


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "black").save(buffer, "PNG")
    return buffer.getvalue()


def _forum(*, steps: str = STEPS, qr: bool = True) -> ForumSettings:
    forum = ForumSettings.load()
    forum.study_group_steps = steps
    forum.save(update_fields=["study_group_steps", "updated_at"])
    if qr:
        forum.study_group_qr.save("qr.png", ContentFile(_png()))
    return forum


def _admit(applicant: User | None = None) -> User:
    """Through the committee: submitted, talk given yesterday, three approvals, feedback."""
    committee = [UserFactory(role=Role.COMMITTEE) for _ in range(3)]
    applicant = applicant or UserFactory(role=Role.AUDIENCE)
    now = timezone.now()
    application = application_submit(
        applicant=applicant, motivation="I read NLP papers every week and want to present.",
        paper_title="BERT", paper_url="https://arxiv.org/abs/1810.04805",
        now=now - datetime.timedelta(days=3),
    )  # fmt: skip
    application_schedule_review(
        application=application, by=committee[0], review_at=now - datetime.timedelta(days=1),
        now=now - datetime.timedelta(days=2),
    )  # fmt: skip
    for voter in committee:
        vote_cast(application=application, voter=voter, choice="approve")
    application_set_feedback(application=application, by=committee[0], feedback="Clear talk.")
    application_close(application=application, by=committee[0], now=now)
    return User.objects.get(pk=applicant.pk)


def _ended_season() -> Season:
    """Ended yesterday, with one session held: a member who did not come is flagged."""
    today = timezone.localdate()
    order = Season.objects.count() + 5
    season = Season.objects.create(
        label=f"Topic {order}", order=order, start_date=today - datetime.timedelta(days=60),
        end_date=today - datetime.timedelta(days=1),
    )  # fmt: skip
    track = TrackFactory()
    WeeklySession.objects.create(
        topic=TopicFactory(track=track, season=season, status=TopicStatus.PRESENTED),
        track=track, start=timezone.now() - datetime.timedelta(days=20),
        status=SessionStatus.DONE,
    )  # fmt: skip
    return season


def _remove_at_season_end(user: User, organiser: User) -> None:
    report = season_removals_confirm(season=_ended_season(), user_ids=[user.pk], by=organiser)
    assert report.removed == [user]


def _rows(user) -> list[tuple]:
    """(change, reason, open, closed by the forum) of each row of `user`, oldest first."""
    return [
        (row.change, row.reason, row.is_open, row.closed_automatically)
        for row in GroupChange.objects.filter(user=user).order_by("pk")
    ]


# --- Rows made by the admission and removal services ----------------------------------------


def test_admission_puts_the_new_member_on_the_add_list():
    member = _admit()

    assert member.role == Role.MEMBER
    assert _rows(member) == [(ADD, RoleChangeCause.ADMISSION, True, False)]


def test_removal_at_the_season_end_puts_the_member_on_the_remove_list(organiser):
    member = _admit()
    group_change_tick(change=member.group_changes.get(), by=organiser, done=True)

    _remove_at_season_end(member, organiser)

    assert _rows(member) == [
        (ADD, RoleChangeCause.ADMISSION, False, False),
        (REMOVE, RoleChangeCause.SEASON_REMOVAL, True, False),
    ]


def test_removed_before_anyone_added_them_closes_the_add_row_and_asks_no_removal(organiser):
    member = _admit()

    _remove_at_season_end(member, organiser)

    assert _rows(member) == [(ADD, RoleChangeCause.ADMISSION, False, True)]
    assert not group_changes_waiting()


def test_admitted_again_before_anyone_removed_them_closes_the_remove_row(organiser):
    member = _admit()
    group_change_tick(change=member.group_changes.get(), by=organiser, done=True)
    _remove_at_season_end(member, organiser)

    _admit(User.objects.get(pk=member.pk))

    assert [row[:1] + row[2:] for row in _rows(member)] == [
        (ADD, False, False), (REMOVE, False, True),
    ]  # fmt: skip


def test_a_role_changed_by_an_organiser_counts_and_one_set_by_the_forum_does_not(organiser):
    by_hand, by_forum = UserFactory(role=Role.AUDIENCE), UserFactory(role=Role.AUDIENCE)

    role_set(user=by_hand, role=Role.COMMITTEE, by=organiser)  # e.g. the admin's role field
    role_set(user=by_forum, role=Role.MEMBER)  # seeding, scripts
    role_set(user=by_hand, role=Role.ORGANISER, by=organiser)  # still in the study group

    assert _rows(by_hand) == [(ADD, RoleChangeCause.BY_HAND, True, False)]
    assert _rows(by_forum) == []


def test_changing_a_role_in_the_admin_puts_the_person_on_the_list(client, organiser):
    person = UserFactory(role=Role.MEMBER, display_name="Demoted")
    client.force_login(organiser)

    response = client.post(
        reverse("admin:members_user_changelist"),
        {"action": "make_audience", "_selected_action": [person.pk], "index": 0},
    )

    assert response.status_code == 302
    assert _rows(person) == [(REMOVE, RoleChangeCause.BY_HAND, True, False)]


# --- Ticking off and undoing ---------------------------------------------------------------


def test_tick_records_who_and_when_and_undo_reopens(organiser):
    member = _admit()
    row = member.group_changes.get()
    when = timezone.now() - datetime.timedelta(minutes=5)

    group_change_tick(change=row, by=organiser, done=True, now=when)
    row.refresh_from_db()
    assert (row.done_at, row.done_by) == (when, organiser)

    group_change_tick(change=row, by=UserFactory(role=Role.ORGANISER), done=True)  # a 2nd tick
    row.refresh_from_db()
    assert (row.done_at, row.done_by) == (when, organiser)

    group_change_tick(change=row, by=organiser, done=False)
    row.refresh_from_db()
    assert (row.done_at, row.done_by) == (None, None)


def test_only_the_latest_row_can_be_undone_and_not_one_the_forum_closed(organiser):
    member = _admit()
    added = member.group_changes.get()
    group_change_tick(change=added, by=organiser, done=True)
    _remove_at_season_end(member, organiser)
    removed = member.group_changes.get(change=REMOVE)
    group_change_tick(change=removed, by=organiser, done=True)

    with pytest.raises(GroupChangeError, match="only the latest one"):
        group_change_tick(change=added, by=organiser, done=False)

    quick = _admit()
    _remove_at_season_end(quick, organiser)
    with pytest.raises(GroupChangeError, match="nothing to undo"):
        group_change_tick(change=quick.group_changes.get(), by=organiser, done=False)


@pytest.mark.parametrize("role", [Role.AUDIENCE, Role.MEMBER, Role.COMMITTEE])
def test_only_organisers_may_tick(role):
    row = _admit().group_changes.get()

    with pytest.raises(PermissionDenied):
        group_change_tick(change=row, by=UserFactory(role=role), done=True)

    assert GroupChange.objects.get(pk=row.pk).done_at is None


# --- The checklist page --------------------------------------------------------------------


def test_checklist_lists_who_to_add_and_remove_with_wechat_ids(client, organiser):
    _admit(UserFactory(display_name="新人 Xin", wechat_id="xin_wx_2026"))
    silent = _admit(UserFactory(display_name="No WeChat", email="nowx@example.org"))
    leaving = _admit(UserFactory(display_name="Leaving", wechat_id="leave_wx"))
    group_change_tick(change=leaving.group_changes.get(), by=organiser, done=True)
    _remove_at_season_end(leaving, organiser)
    client.force_login(organiser)

    page = client.get(reverse("onboarding"), headers=EN).content.decode()

    to_add, to_remove = page.split('data-section="remove"')
    assert "新人 Xin" in to_add and "No WeChat" in to_add and "Leaving" not in to_add
    assert '<code class="wechat-id" data-role="wechat-id">xin_wx_2026</code>' in to_add
    assert 'data-copy="xin_wx_2026"' in to_add
    assert "mailto:nowx@example.org" in to_add and 'data-role="no-wechat-id"' in to_add
    assert "Leaving" in to_remove and "leave_wx" in to_remove
    assert 'data-waiting="add">2<' in page and 'data-waiting="remove">1<' in page
    assert page.count('data-action="done"') == 3 and 'data-action="undo"' not in page
    assert f'id="change-{silent.group_changes.get().pk}"' in page


def test_ticked_rows_are_hidden_unless_asked_for(client, organiser):
    member = _admit(UserFactory(display_name="Ticked"))
    row = member.group_changes.get()
    client.force_login(organiser)

    response = client.post(reverse("onboarding-tick", args=[row.pk]), {"done": "1"}, headers=EN)
    assert response.status_code == 302
    assert response.url == reverse("onboarding") + f"#change-{row.pk}"
    hidden = client.get(reverse("onboarding"), headers=EN).content.decode()
    shown = client.get(reverse("onboarding") + "?done=1", headers=EN).content.decode()

    assert "Ticked off: Ticked is in the study group." in hidden  # the message, once
    assert 'data-change="' not in hidden and 'data-empty="add"' in hidden
    assert 'href="/staff/onboarding/?done=1"' in hidden
    assert "Ticked" in shown and 'data-state="done"' in shown
    assert f"by {organiser.name}" in shown and 'data-action="undo"' in shown

    undone = client.post(reverse("onboarding-tick", args=[row.pk]), {"done": "0", "show_done": "1"})
    assert undone.url == reverse("onboarding") + f"?done=1#change-{row.pk}"
    assert GroupChange.objects.get(pk=row.pk).done_at is None
    page = client.get(reverse("onboarding"), headers=EN).content.decode()
    assert "Ticked" in page and 'data-state="open"' in page


def test_a_row_the_forum_closed_says_why_and_offers_no_undo(client, organiser):
    member = _admit(UserFactory(display_name="Quickly gone"))
    _remove_at_season_end(member, organiser)
    client.force_login(organiser)

    page = client.get(reverse("onboarding") + "?done=1", headers=EN).content.decode()

    assert "Quickly gone" in page and 'data-state="moot"' in page
    assert "No longer needed: moved back to the audience" in page
    assert 'data-action="undo"' not in page and 'data-action="done"' not in page


def test_a_refused_undo_is_shown_as_a_message(client, organiser):
    member = _admit()
    _remove_at_season_end(member, organiser)
    client.force_login(organiser)

    response = client.post(
        reverse("onboarding-tick", args=[member.group_changes.get().pk]), {"done": "0"},
        headers=EN, follow=True,
    )  # fmt: skip

    assert "nothing to undo" in response.content.decode()


@pytest.mark.parametrize("visitor", [None, Role.AUDIENCE, Role.MEMBER, Role.COMMITTEE])
def test_only_organisers_see_the_checklist_and_tick(client, visitor):
    row = _admit(UserFactory(wechat_id="secret_wx")).group_changes.get()
    if visitor is not None:
        client.force_login(UserFactory(role=visitor))

    page = client.get(reverse("onboarding"))
    tick = client.post(reverse("onboarding-tick", args=[row.pk]), {"done": "1"})

    expected = 302 if visitor is None else 403
    assert (page.status_code, tick.status_code) == (expected, expected)
    if visitor is None:
        assert page.url.startswith(reverse("account_login"))
    assert "secret_wx" not in page.content.decode()
    assert GroupChange.objects.get(pk=row.pk).done_at is None


def test_tick_is_post_only(client, organiser):
    row = _admit().group_changes.get()
    client.force_login(organiser)

    assert client.get(reverse("onboarding-tick", args=[row.pk])).status_code == 405
    assert client.post(reverse("onboarding-tick", args=[row.pk + 1000])).status_code == 404


@pytest.mark.parametrize("rows", [1, 6])
def test_checklist_query_count_is_flat(client, organiser, django_assert_num_queries, rows):
    for n in range(rows):
        for change in (ADD, REMOVE):
            GroupChange.objects.create(
                user=UserFactory(wechat_id=f"wx{n}{change}"), change=change, reason="admission"
            )
            GroupChange.objects.create(
                user=UserFactory(), change=change, reason="by_hand",
                done_at=timezone.now(), done_by=organiser,
            )  # fmt: skip
    client.force_login(organiser)
    client.get(reverse("onboarding") + "?done=1")
    bump_data_version()  # so that the page is rendered, not served as stored for this person

    # the user, the versions, the rows (with their people, who ticked them, which are latest)
    with django_assert_num_queries(3):
        response = client.get(reverse("onboarding") + "?done=1")

    checklist = response.context["checklist"]
    assert (len(checklist.to_add), len(checklist.to_remove)) == (2 * rows, 2 * rows)
    assert (checklist.waiting_to_add, checklist.waiting_to_remove) == (rows, rows)


# --- The organisers' inbox -----------------------------------------------------------------


def test_inbox_has_one_item_for_the_checklist_and_follows_the_ticks(
    organiser, django_capture_on_commit_callbacks
):
    first, second = _admit(), _admit()
    GroupChange.objects.create(user=UserFactory(), change=REMOVE, reason="season_removal")

    [item] = [item for item in inbox_items(now=timezone.now()) if item.kind == "study_group"]
    assert item.detail == "To add: 2 · to remove: 1"
    assert item.action_url == reverse("onboarding")
    assert item.since == first.group_changes.get().created_at

    # Kept in the cache until a row changes, which grows its generation after the commit.
    with django_capture_on_commit_callbacks(execute=True):
        group_change_tick(change=first.group_changes.get(), by=organiser, done=True)
    assert group_changes_waiting().to_add == 1
    with django_capture_on_commit_callbacks(execute=True):
        group_change_tick(change=second.group_changes.get(), by=organiser, done=True)
    GroupChange.objects.filter(change=REMOVE).get().delete()  # e.g. the person's account
    assert [item for item in inbox_items(now=timezone.now()) if item.kind == "study_group"] == []


@pytest.mark.parametrize("rows", [1, 6])
def test_inbox_with_the_checklist_keeps_its_query_count(
    client, organiser, django_assert_num_queries, rows
):
    for _n in range(rows):
        GroupChange.objects.create(user=UserFactory(), change=ADD, reason="admission")
        GroupChange.objects.create(user=UserFactory(), change=REMOVE, reason="season_removal")
    client.force_login(organiser)
    client.get("/staff/inbox/")
    bump_content_version()

    # what test_inbox_query_count_is_flat counts without an ended season: nothing more
    with django_assert_num_queries(9):
        response = client.get("/staff/inbox/", headers=EN)

    page = response.content.decode()
    assert f"To add: {rows} · to remove: {rows}" in page
    assert f'href="{reverse("onboarding")}" data-action="study_group"' in page


# --- What members see: /me/, the QR code, the admission e-mail --------------------------------


def test_me_shows_a_new_member_the_qr_code_and_steps_until_they_are_added(client, organiser):
    forum = _forum()
    member = _admit(UserFactory(wechat_id="mine_wx"))
    client.force_login(member)

    page = client.get(reverse("me"), headers=EN).content.decode()

    assert 'data-section="study-group" data-state="waiting"' in page
    assert f'src="{reverse("study-group-qr")}?v=' in page
    assert STEPS in page and "mine_wx" in page
    assert forum.study_group_qr.name not in page  # never its storage name or a /media/ URL

    group_change_tick(change=member.group_changes.get(), by=organiser, done=True)
    bump_data_version()  # what the commit does: this test's transaction never commits
    page = client.get(reverse("me"), headers=EN).content.decode()
    assert 'data-section="study-group" data-state="added"' in page
    assert "<details>" in page.split('data-state="added"')[1].split("</section>")[0]
    assert STEPS in page


def test_me_asks_a_member_without_a_wechat_id_for_one(client):
    _forum(qr=False)
    client.force_login(_admit())

    page = client.get(reverse("me"), headers=EN).content.decode()

    assert 'data-role="add-wechat-id"' in page and reverse("profile") in page
    assert 'data-role="study-group-qr"' not in page


def test_me_shows_no_study_group_to_the_audience(client):
    _forum()
    client.force_login(UserFactory(role=Role.AUDIENCE))

    page = client.get(reverse("me"), headers=EN).content.decode()

    assert 'data-section="study-group"' not in page
    assert STEPS not in page and reverse("study-group-qr") not in page


@pytest.mark.parametrize("role", [Role.MEMBER, Role.COMMITTEE, Role.ORGANISER])
def test_qr_code_is_served_privately_to_members_and_organisers(client, role):
    _forum()
    client.force_login(UserFactory(role=role))

    response = client.get(reverse("study-group-qr"))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Cache-Control"].startswith("private")
    assert b"".join(response.streaming_content) == _png()


@pytest.mark.parametrize("visitor", [None, Role.AUDIENCE])
def test_qr_code_is_refused_to_anonymous_visitors_and_the_audience(client, visitor):
    forum = _forum()
    if visitor is not None:
        client.force_login(UserFactory(role=visitor))

    response = client.get(reverse("study-group-qr"))

    assert response.status_code == (302 if visitor is None else 403)
    assert not getattr(response, "streaming", False)
    # Not under a public address either: the private storage is not below /media/.
    assert client.get(f"/media/{forum.study_group_qr.name}").status_code == 404


def test_qr_code_is_404_when_none_is_set(client, member):
    client.force_login(member)

    assert client.get(reverse("study-group-qr")).status_code == 404


def test_admin_links_the_stored_qr_code_to_the_private_view(client, organiser):
    ForumSettings.load()
    client.force_login(organiser)
    url = reverse("admin:forum_forumsettings_change", args=[1])

    response = client.post(url, {
        "forum_name": "TopicShare", "slogan": "", "join_instructions": "",
        "study_group_steps": STEPS,
        "study_group_qr": SimpleUploadedFile("my-group.png", _png(), "image/png"),
    })  # fmt: skip

    assert response.status_code == 302
    forum = ForumSettings.load()
    assert forum.study_group_steps == STEPS
    assert forum.study_group_qr.name.startswith("forum/private/")
    assert "my-group" not in forum.study_group_qr.name
    page = client.get(url).content.decode()
    assert f'href="{reverse("study-group-qr")}"' in page
    assert f"/media/{forum.study_group_qr.name}" not in page


def test_admission_mail_has_the_steps_and_a_link_to_me(client):
    _forum()
    member = _admit(UserFactory(wechat_id="has_wx", preferred_language="en"))

    mail = Notification.objects.get(kind=NotificationKind.ADMISSION_DECIDED, recipient=member)

    assert mail.title == "Welcome to the study group!"
    assert STEPS in mail.body_text and STEPS in mail.body_html
    assert "the study group's QR code" in mail.body_text
    assert mail.url == "http://127.0.0.1:8000/me/" and mail.body_text.endswith(mail.url)
    assert 'href="http://127.0.0.1:8000/me/"' in mail.body_html
    assert "Clear talk." in mail.body_text
    assert reverse("study-group-qr") not in mail.body_html  # the page shows it, not the mail
    assert "WeChat ID to your profile" not in mail.body_text


def test_admission_mail_without_steps_still_links_to_me_and_asks_for_a_wechat_id():
    member = _admit(UserFactory(preferred_language="en"))

    mail = Notification.objects.get(kind=NotificationKind.ADMISSION_DECIDED, recipient=member)

    assert "The organisers will add you to the study group's WeChat group" in mail.body_text
    assert "WeChat ID to your profile" in mail.body_text
    assert mail.url.endswith("/me/")

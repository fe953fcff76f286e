"""The season ledger: numbers from hand-built fixtures, the policy's edges, grace, lock,
removal with its notice and audit trail, the report command, the review page (permissions,
flat query count) and the dashboard."""

import csv
import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from members.ledger.models import LedgerExemption, LedgerPolicy
from members.ledger.services import (
    Status,
    ledger_exempt,
    ledger_exemption_revoke,
    season_has_ended,
    season_ledger,
    season_removals_confirm,
)
from members.models import AuditEvent, User
from members.roles import Role
from sessions.models import (
    RSVP,
    Attendance,
    Participation,
    Season,
    SessionPresenter,
    SessionStatus,
    Task,
    WeeklySession,
)
from tests.factories import TopicFactory, TrackFactory, UserFactory
from topicshare.core.pagecache import bump_data_version
from topicshare.notifications.models import Notification, NotificationKind

pytestmark = pytest.mark.django_db
TZ = datetime.timezone(datetime.timedelta(hours=8))


@pytest.fixture
def season():
    """Topic 6: 2026-08-01 … 2026-10-31, five sessions held (and one cancelled), long before
    the factories' role changes (made "now"), so nobody is in grace unless a test says so."""
    track = TrackFactory(slug="nlp")
    season = Season.objects.create(
        label="Topic 6", order=6, start_date=datetime.date(2026, 8, 1),
        end_date=datetime.date(2026, 10, 31),
    )  # fmt: skip
    sessions = []
    first = datetime.datetime(2026, 8, 1, 20, 30, tzinfo=TZ)
    for week in range(6):
        topic = TopicFactory(track=track, season=season)
        sessions.append(
            WeeklySession.objects.create(
                topic=topic, track=track,
                start=first + datetime.timedelta(weeks=week),
                status=SessionStatus.CANCELLED if week == 5 else SessionStatus.DONE,
            )
        )  # fmt: skip
    return season, sessions


def _attend(user, sessions):
    for session in sessions:
        Attendance.objects.create(session=session, user=user, how=Attendance.How.SELF)


def _row(ledger, user):
    return ledger.row_for(user.pk)


def test_numbers_match_hand_built_fixtures(season):
    season, sessions = season
    held = sessions[:5]
    alice = UserFactory(role=Role.MEMBER, display_name="Alice")
    bob = UserFactory(role=Role.MEMBER, display_name="Bob")
    SessionPresenter.objects.create(session=held[0], user=alice, start=held[0].start)
    Participation.objects.create(topic=held[1].topic, user=bob, role="participant")
    Participation.objects.create(topic=held[2].topic, user=bob, role="participant")
    Task.objects.create(topic=held[1].topic, title="复现", assignee=bob, status=Task.Status.DONE)
    Task.objects.create(topic=held[2].topic, title="调研", assignee=bob, status=Task.Status.DOING)
    _attend(alice, held[:3])
    _attend(bob, held[:1])
    for session in [held[0], held[3], held[4], sessions[5]]:  # the cancelled one is not held
        RSVP.objects.create(session=session, user=bob)
    # Outside the season: neither counted.
    other = Season.objects.create(label="Topic 5", order=5)
    TopicFactory(track=held[0].track, season=other)

    ledger = season_ledger(season)

    assert ledger.sessions_held == 5
    a, b = _row(ledger, alice), _row(ledger, bob)
    assert (a.presented, a.groups_joined, a.tasks_done, a.attended, a.rsvps_missed) == (
        1, 0, 0, 3, 0,
    )  # fmt: skip
    assert (b.presented, b.groups_joined, b.tasks_done, b.attended, b.rsvps_missed) == (
        0, 2, 1, 1, 2,
    )  # fmt: skip
    assert (a.attendance_percent, b.attendance_percent) == (60, 20)
    # Bob attended 20 % but did a task: not flagged.
    assert a.status == b.status == Status.ACTIVE


def test_threshold_edges_and_what_protects(season):
    season, sessions = season
    held = sessions[:5]
    at_edge = UserFactory(role=Role.MEMBER)  # 2 of 5 = 40 %: not under 40 %
    below = UserFactory(role=Role.MEMBER)  # 1 of 5 = 20 %
    never = UserFactory(role=Role.COMMITTEE)  # committee members count too
    presenter = UserFactory(role=Role.MEMBER)
    organiser = UserFactory(role=Role.ORGANISER)  # never flagged
    audience = UserFactory(role=Role.AUDIENCE)  # not in the ledger
    _attend(at_edge, held[:2])
    _attend(below, held[:1])
    SessionPresenter.objects.create(session=held[0], user=presenter, start=held[0].start)

    ledger = season_ledger(season)

    assert _row(ledger, at_edge).status == Status.ACTIVE
    assert _row(ledger, below).status == Status.FLAGGED
    assert _row(ledger, never).status == Status.FLAGGED
    assert _row(ledger, presenter).status == Status.ACTIVE
    assert _row(ledger, organiser).status == Status.ORGANISER
    assert _row(ledger, audience) is None
    assert [row.status for row in ledger.rows][:2] == [Status.FLAGGED, Status.FLAGGED]

    # Organisers edit the policy: 41 % flags the edge; presenting no longer protects.
    policy = LedgerPolicy.load()
    policy.min_attendance_percent, policy.presenting_protects = 41, False
    policy.save()
    ledger = season_ledger(season)
    assert _row(ledger, at_edge).status == Status.FLAGGED
    assert _row(ledger, presenter).status == Status.FLAGGED


def test_grace_for_members_admitted_during_the_season(season):
    season, _sessions = season
    newcomer = UserFactory(role=Role.MEMBER)
    AuditEvent.objects.filter(subject_user=newcomer, action=AuditEvent.Action.ROLE_CHANGED).update(
        at=datetime.datetime(2026, 9, 15, 12, tzinfo=TZ)
    )
    veteran = UserFactory(role=Role.MEMBER)

    ledger = season_ledger(season)
    assert _row(ledger, newcomer).status == Status.GRACE
    assert _row(ledger, veteran).status == Status.FLAGGED

    policy = LedgerPolicy.load()
    policy.grace_for_new_members = False
    policy.save()
    assert _row(season_ledger(season), newcomer).status == Status.FLAGGED


def test_a_lock_exempts_for_one_season_or_all_and_is_audited(season, organiser):
    season, _sessions = season
    member = UserFactory(role=Role.MEMBER)
    forever = UserFactory(role=Role.MEMBER)

    with pytest.raises(ValidationError):
        ledger_exempt(user=member, season=season, reason="  ", by=organiser)
    with pytest.raises(PermissionDenied):
        ledger_exempt(
            user=member, season=season, reason="产假", by=UserFactory(role=Role.COMMITTEE)
        )
    exemption = ledger_exempt(user=member, season=season, reason="产假", by=organiser)
    ledger_exempt(user=forever, season=None, reason="维护开源项目", by=organiser)
    with pytest.raises(ValidationError):
        ledger_exempt(user=member, season=season, reason="again", by=organiser)

    ledger = season_ledger(season)
    assert _row(ledger, member).status == Status.EXEMPT
    assert _row(ledger, member).exemption.reason == "产假"
    assert _row(ledger, forever).status == Status.EXEMPT
    # An exempt member cannot be removed, even if asked.
    report = season_removals_confirm(season=season, user_ids=[member.pk], by=organiser)
    assert report.removed == [] and report.skipped[0][0] == member
    assert User.objects.get(pk=member.pk).role == Role.MEMBER

    ledger_exemption_revoke(exemption=exemption, by=organiser)
    assert _row(season_ledger(season), member).status == Status.FLAGGED
    actions = list(
        AuditEvent.objects.filter(subject_user=member)
        .exclude(action=AuditEvent.Action.ROLE_CHANGED)
        .values_list("action", flat=True)
    )
    assert actions == ["ledger_exemption_revoked", "ledger_exemption"]


def test_removal_needs_an_organiser_moves_to_audience_notifies_and_audits(season, organiser):
    season, _sessions = season
    quiet = UserFactory(role=Role.MEMBER, email="quiet@example.org", preferred_language="zh-hans")
    active = UserFactory(role=Role.MEMBER)
    _attend(active, _sessions[:5])

    with pytest.raises(PermissionDenied):
        season_removals_confirm(
            season=season, user_ids=[quiet.pk], by=UserFactory(role=Role.COMMITTEE)
        )
    report = season_removals_confirm(season=season, user_ids=[quiet.pk, active.pk], by=organiser)

    assert report.removed == [quiet]
    assert [user for user, _status in report.skipped] == [active]
    assert User.objects.get(pk=quiet.pk).role == Role.AUDIENCE
    assert User.objects.get(pk=active.pk).role == Role.MEMBER
    event = AuditEvent.objects.get(action=AuditEvent.Action.SEASON_REMOVAL)
    assert (event.actor, event.subject_user) == (organiser, quiet)
    assert event.details["season"] == "Topic 6" and event.details["attended"] == 0
    notice = Notification.objects.get(kind=NotificationKind.MEMBERSHIP_ENDED)
    assert notice.recipient == quiet
    assert "Topic 6" in notice.title
    assert "/join/apply/" in notice.body_text
    assert "0" in notice.body_text and "5" in notice.body_text

    # The row now says "moved to the audience"; confirming again changes nothing.
    assert _row(season_ledger(season), quiet).status == Status.REMOVED
    again = season_removals_confirm(season=season, user_ids=[quiet.pk], by=organiser)
    assert again.removed == []
    assert Notification.objects.filter(kind=NotificationKind.MEMBERSHIP_ENDED).count() == 1


def test_season_report_prints_and_exports(season, tmp_path):
    season, sessions = season
    alice = UserFactory(role=Role.MEMBER, display_name="王小明")
    _attend(alice, sessions[:3])
    UserFactory(role=Role.MEMBER, display_name="Quiet")

    out = io.StringIO()
    call_command("season_report", "Topic 6", stdout=out)
    table = out.getvalue()
    assert "Topic 6 — sessions held: 5, members: 2, flagged: 1" in table
    assert "\n\n" not in table
    assert "王小明" in table and "Flagged" in table

    out = io.StringIO()
    call_command("season_report", "Topic 6", "--csv", stdout=out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0][:3] == ["Member", "E-mail", "Role"]
    by_name = {row[0]: row for row in rows[1:]}
    assert by_name["王小明"][6:9] == ["3", "5", "60"]
    assert by_name["Quiet"][10] == "Flagged"

    target = tmp_path / "ledger.csv"
    call_command("season_report", "Topic 6", "--csv", "--output", str(target))
    assert target.read_text(encoding="utf-8").startswith("Member,")
    with pytest.raises(CommandError, match='No season "Topic 99". Seasons: Topic 6'):
        call_command("season_report", "Topic 99")


@pytest.mark.parametrize("who", [None, Role.AUDIENCE, Role.MEMBER, Role.COMMITTEE])
def test_review_pages_are_for_organisers_only(client, season, who):
    season, _sessions = season
    if who:
        client.force_login(UserFactory(role=who))
    urls = [
        reverse("ledger:season-review", args=[season.pk]),
        reverse("ledger:season-review-csv", args=[season.pk]),
        reverse("ledger:season-review-current"),
        reverse("dashboard"),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == (302 if who is None else 403), url
    quiet = UserFactory(role=Role.MEMBER)
    response = client.post(urls[0], {"remove": quiet.pk})
    assert response.status_code == (302 if who is None else 403)
    assert User.objects.get(pk=quiet.pk).role == Role.MEMBER


def test_review_page_lists_flagged_first_and_removes_in_bulk(client, season, organiser):
    season, sessions = season
    quiet = UserFactory(role=Role.MEMBER, display_name="Quiet One")
    quieter = UserFactory(role=Role.MEMBER, display_name="Quiet Two")
    busy = UserFactory(role=Role.MEMBER, display_name="Busy")
    _attend(busy, sessions[:5])
    client.force_login(organiser)
    url = reverse("ledger:season-review", args=[season.pk])

    content = client.get(url).content.decode()
    assert content.index("Quiet One") < content.index("Busy")
    assert 'data-status="flagged"' in content

    # Nothing selected: a clear message, nobody moved.
    response = client.post(url, {"remove_selected": ""}, follow=True)
    assert "至少选择一位" in response.content.decode()
    response = client.post(
        url,
        {"remove_selected": "", "user": [quiet.pk, quieter.pk, busy.pk, "x"], "confirm": "1"},
        follow=True,
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert [User.objects.get(pk=u.pk).role for u in (quiet, quieter, busy)] == [
        Role.AUDIENCE, Role.AUDIENCE, Role.MEMBER,
    ]  # fmt: skip
    assert "Busy" in page and "没有移出" in page  # reported as skipped, with its status

    # Exempt from the page, with a reason; an empty reason is refused.
    other = UserFactory(role=Role.MEMBER, display_name="On leave")
    response = client.post(url, {"exempt": other.pk, f"reason-{other.pk}": ""}, follow=True)
    assert not LedgerExemption.objects.filter(user=other).exists()
    # An over-long reason is refused with a message, not silently cut.
    limit = LedgerExemption._meta.get_field("reason").max_length
    response = client.post(
        url, {"exempt": other.pk, f"reason-{other.pk}": "长" * (limit + 1)}, follow=True
    )
    assert not LedgerExemption.objects.filter(user=other).exists()
    assert "最多" in response.content.decode()
    client.post(url, {"exempt": other.pk, f"reason-{other.pk}": "出国交流"})
    assert LedgerExemption.objects.get(user=other).reason == "出国交流"
    # Garbage is refused politely.
    assert client.post(url, {"exempt": "abc"}).status_code == 302
    assert client.post(url, {"revoke": "999"}).status_code == 302
    assert client.post(url, {}).status_code == 302

    export = client.get(reverse("ledger:season-review-csv", args=[season.pk]))
    assert export["Content-Type"].startswith("text/csv")
    text = export.content.decode("utf-8-sig")
    assert "Quiet One" in text and "出国交流" in text


@pytest.mark.parametrize("count", [5, 200])
def test_review_page_query_count_is_flat(
    client, season, organiser, django_assert_num_queries, count
):
    from topicshare.forum.models import ForumSettings

    season, sessions = season
    people = User.objects.bulk_create(
        User(email=f"m{n}@example.org", display_name=f"M{n}") for n in range(count)
    )
    group = organiser.groups.model.objects.get(name=Role.MEMBER.value)
    group.user_set.add(*people)
    Attendance.objects.bulk_create(
        Attendance(session=sessions[n % 5], user=person, how=Attendance.How.SELF)
        for n, person in enumerate(people)
    )
    ledger_exempt(user=people[0], season=season, reason="产假", by=organiser)
    LedgerPolicy.load()
    ForumSettings.load()
    client.force_login(organiser)
    url = reverse("ledger:season-review", args=[season.pk])
    client.get(url)  # forum settings and the viewer's role, kept under the content version
    bump_data_version()  # so that the page is rendered, not served as stored for this person

    # user (the session is in the cache), the versions, season, the season's counts (one
    # UNION ALL), members (with their removal, admission, role and exemption), seasons; the
    # policy is kept (LedgerPolicy.kept)
    with django_assert_num_queries(6):
        response = client.get(reverse("ledger:season-review", args=[season.pk]))

    assert response.status_code == 200
    assert response.content.decode().count("data-member=") == count + 1  # and the organiser


def test_dashboard_draws_the_current_season(client, season, organiser):
    season, sessions = season
    season.is_current = True
    season.save()
    member = UserFactory(role=Role.MEMBER)
    _attend(member, sessions[:2])
    RSVP.objects.create(session=sessions[0], user=member)
    SessionPresenter.objects.create(session=sessions[0], user=member, start=sessions[0].start)
    client.force_login(organiser)

    content = client.get(reverse("dashboard")).content.decode()

    for key in ["attendance", "topics", "funnel", "presenters"]:
        assert f'data-chart="{key}"' in content
    assert content.count('<svg xmlns="http://www.w3.org/2000/svg"') == 4  # not the swatches
    assert "每场出席人数" in content  # Chinese by default
    # Self-hosted: no script or stylesheet from anywhere else.
    assert 'src="http' not in content and 'href="http' not in content.split("</head>")[0]
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Attendance per session" in client.get(reverse("dashboard")).content.decode()


def test_dashboard_escapes_titles(client, season, organiser):
    season, sessions = season
    season.is_current = True
    season.save()
    topic = sessions[0].topic
    topic.title = '<script>alert("x")</script>'
    topic.save()
    client.force_login(organiser)

    content = client.get(reverse("dashboard")).content.decode()

    assert '<script>alert("x")' not in content
    assert "&lt;script&gt;" in content


def test_season_without_dates_counts_its_topics_sessions_and_skips_grace():
    track = TrackFactory(slug="cv")
    season = Season.objects.create(label="初期", order=0)
    topic = TopicFactory(track=track, season=season)
    session = WeeklySession.objects.create(
        topic=topic, track=track, start=timezone.now() - datetime.timedelta(days=3),
        status=SessionStatus.DONE,
    )  # fmt: skip
    member = UserFactory(role=Role.MEMBER)  # admitted "now": no window, so no grace
    Attendance.objects.create(session=session, user=member, how=Attendance.How.ORGANISER)

    ledger = season_ledger(season)

    assert ledger.sessions_held == 1 and ledger.window is None
    assert _row(ledger, member).status == Status.ACTIVE


def test_policy_and_exemptions_in_the_admin_are_for_organisers(client, season, organiser):
    season, _sessions = season
    client.force_login(UserFactory(role=Role.COMMITTEE))
    assert client.get(reverse("admin:ledger_ledgerpolicy_changelist")).status_code == 403
    assert client.get(reverse("admin:ledger_ledgerexemption_add")).status_code == 403

    client.force_login(organiser)
    assert client.get(reverse("admin:ledger_ledgerpolicy_changelist")).status_code == 200
    response = client.post(
        reverse("admin:ledger_ledgerpolicy_change", args=[1]),
        {"min_attendance_percent": 101, "presenting_protects": "on", "task_protects": "on"},
    )
    assert response.status_code == 200  # the form again, with the error
    assert LedgerPolicy.load().min_attendance_percent == 40
    client.post(
        reverse("admin:ledger_ledgerpolicy_change", args=[1]),
        {
            "min_attendance_percent": 50,
            "task_protects": "on",
            "grace_for_new_members": "on",
            "min_minutes_in_meeting": 45,
            "at_risk_notice_weeks": 4,
        },
    )
    policy = LedgerPolicy.load()
    assert (
        policy.min_attendance_percent,
        policy.presenting_protects,
        policy.min_minutes_in_meeting,
    ) == (50, False, 45)

    member = UserFactory(role=Role.MEMBER)
    response = client.post(
        reverse("admin:ledger_ledgerexemption_add"),
        {"user": member.pk, "season": "", "reason": "维护开源项目"},
    )
    assert response.status_code == 302
    exemption = LedgerExemption.objects.get(user=member)
    assert (exemption.season, exemption.by) == (None, organiser)
    assert AuditEvent.objects.filter(
        action=AuditEvent.Action.LEDGER_EXEMPTION, subject_user=member, actor=organiser
    ).exists()
    client.post(
        reverse("admin:ledger_ledgerexemption_delete", args=[exemption.pk]), {"post": "yes"}
    )
    assert not LedgerExemption.objects.exists()
    assert AuditEvent.objects.filter(action=AuditEvent.Action.LEDGER_EXEMPTION_REVOKED).exists()
    content = client.get(reverse("admin:topic_sessions_season_changelist")).content.decode()
    assert reverse("ledger:season-review", args=[season.pk]) in content


def test_bar_chart_scales_stacks_and_colours_every_series():
    from topicshare.forum.charts import Series, bar_chart

    series = [Series("a", [2, 0]), Series("b", [2, 4], "#000000")]
    svg = str(bar_chart(title="T <x>", labels=["一", "二"], series=series, stacked=True))

    assert series[0].colour.startswith("#")  # legends read it before the chart is drawn
    assert 'aria-label="T &lt;x&gt;"' in svg
    # Both rows total 4: the longest bar is the full width, a zero draws no rect.
    widths = [part.split('"')[0] for part in svg.split('width="')[1:]]
    assert widths == ["173.0", "173.0", "346.0"]
    assert svg.count("<rect") == 3


def _member_since_long_ago():
    """A member made before the season began (not in the newcomers' grace)."""
    user = UserFactory(role=Role.MEMBER)
    AuditEvent.objects.filter(subject_user=user, action=AuditEvent.Action.ROLE_CHANGED).update(
        at=datetime.datetime(2026, 1, 1, tzinfo=TZ)
    )
    return user


def _ongoing(season):
    """The same season, still running: it ends next month."""
    season.end_date = timezone.localdate() + datetime.timedelta(days=30)
    season.is_current = True
    season.save(update_fields=["end_date", "is_current"])
    return season


def test_season_has_ended_after_its_end_date_or_when_no_longer_current(season):
    season, _sessions = season
    end = datetime.datetime(2026, 10, 31, 23, 59, tzinfo=TZ)

    assert not season_has_ended(season, now=end)
    assert season_has_ended(season, now=end + datetime.timedelta(minutes=1))
    season.end_date = None
    season.is_current = True
    assert not season_has_ended(season)
    season.is_current = False
    assert season_has_ended(season)


def test_removal_before_the_season_ends_is_refused_without_a_reason(season, organiser):
    season, _sessions = season
    season = _ongoing(season)
    quiet = _member_since_long_ago()

    with pytest.raises(ValidationError, match="has not ended yet"):
        season_removals_confirm(season=season, user_ids=[quiet.pk], by=organiser)
    with pytest.raises(ValidationError, match="has not ended yet"):
        season_removals_confirm(
            season=season, user_ids=[quiet.pk], by=organiser, override_reason="   "
        )
    with pytest.raises(ValidationError):
        season_removals_confirm(
            season=season, user_ids=[quiet.pk], by=organiser, override_reason="x" * 501
        )

    assert User.objects.get(pk=quiet.pk).role == Role.MEMBER
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.SEASON_REMOVAL).exists()


def test_organiser_override_before_the_season_ends_is_audited_with_the_reason(season, organiser):
    season, _sessions = season
    season = _ongoing(season)
    quiet = _member_since_long_ago()

    with pytest.raises(PermissionDenied):
        season_removals_confirm(
            season=season, user_ids=[quiet.pk], by=UserFactory(role=Role.COMMITTEE),
            override_reason="离开小组",
        )  # fmt: skip
    report = season_removals_confirm(
        season=season, user_ids=[quiet.pk], by=organiser, override_reason=" 本人申请退出 "
    )

    assert report.removed == [quiet]
    assert User.objects.get(pk=quiet.pk).role == Role.AUDIENCE
    event = AuditEvent.objects.get(action=AuditEvent.Action.SEASON_REMOVAL)
    assert event.actor == organiser
    assert event.details["before_season_end"] is True
    assert event.details["override_reason"] == "本人申请退出"


def test_removal_after_the_season_ends_records_no_override(season, organiser):
    season, _sessions = season
    quiet = _member_since_long_ago()

    season_removals_confirm(season=season, user_ids=[quiet.pk], by=organiser)

    event = AuditEvent.objects.get(action=AuditEvent.Action.SEASON_REMOVAL)
    assert "override_reason" not in event.details


def test_review_page_before_the_season_ends_offers_only_the_override(client, season, organiser):
    season, _sessions = season
    season = _ongoing(season)
    quiet = _member_since_long_ago()
    url = reverse("ledger:season-review", args=[season.pk])
    client.force_login(organiser)

    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    refused = client.post(
        url, {"remove_selected": "", "user": [quiet.pk]}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
    )
    still_member = User.objects.get(pk=quiet.pk).role
    done = client.post(
        url,
        {
            "remove_selected": "",
            "user": [quiet.pk],
            "override_reason": "本人申请退出",
            "confirm": "1",
        },
        follow=True,
    )

    assert f'data-action="remove-{quiet.pk}"' not in page
    assert 'data-action="remove-selected"' not in page
    assert 'data-action="remove-selected-early"' in page
    assert 'name="override_reason"' in page
    assert "has not ended yet" in refused.content.decode()
    assert still_member == Role.MEMBER
    assert done.status_code == 200
    assert User.objects.get(pk=quiet.pk).role == Role.AUDIENCE

"""My standing before it is too late: the season's figures on my own page, what would keep me
above the threshold, and one notice weeks before the end for those below it — not for the
exempt, the new (grace) or the protected."""

import datetime

import pytest
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from members.ledger.models import ExemptionRequest, LedgerExemption, LedgerPolicy
from members.ledger.services import (
    ExemptionRequestError,
    at_risk_notices,
    exemption_request,
    exemption_request_answer,
    member_standing,
)
from members.models import AuditEvent
from members.roles import Role
from sessions.models import Attendance, Season, SessionStatus, Task, WeeklySession
from tests.factories import TopicFactory, TrackFactory, UserFactory
from topicshare.notifications.models import Notification

pytestmark = pytest.mark.django_db
TZ = datetime.timezone(datetime.timedelta(hours=8))
# Four weeks before the season's end (2027-03-31): the notices go out from 2027-03-03.
NOW = datetime.datetime(2027, 3, 10, 10, 0, tzinfo=TZ)


@pytest.fixture
def season():
    """Topic 8: 2027-01-01 … 2027-03-31, 5 sessions held, 4 still ahead of NOW."""
    cache.clear()
    track = TrackFactory(slug="nlp")
    season = Season.objects.create(
        label="Topic 8", order=8, start_date=datetime.date(2027, 1, 1),
        end_date=datetime.date(2027, 3, 31), is_current=True,
    )  # fmt: skip
    first = datetime.datetime(2027, 2, 6, 20, 30, tzinfo=TZ)
    sessions = []
    for week in range(9):
        sessions.append(
            WeeklySession.objects.create(
                topic=TopicFactory(track=track, season=season), track=track,
                start=first + datetime.timedelta(weeks=week),
                status=SessionStatus.DONE if week < 5 else SessionStatus.SCHEDULED,
            )
        )  # fmt: skip
    return season, sessions


def _attend(user, sessions):
    for session in sessions:
        Attendance.objects.create(session=session, user=user, how=Attendance.How.SELF)


def test_my_figures_and_what_would_keep_me_above(season, client):
    _season, sessions = season
    me = UserFactory(role=Role.MEMBER)
    _attend(me, sessions[:1])  # 1 of 5 held; 40 % of 9 is 3.6: 4 in all, 3 more of 4 ahead

    standing = member_standing(user=me, now=NOW)

    assert (standing.row.attended, standing.sessions_held, standing.sessions_ahead) == (1, 5, 4)
    assert standing.needed == 4 and standing.still_to_attend == 3 and standing.reachable
    assert standing.below
    client.force_login(me)
    html = client.get(reverse("ledger:my-standing"), headers={"accept-language": "en"}).content
    html = html.decode()
    assert "1 of 5 held" in html and "Attend 3 of the remaining 4 sessions" in html
    assert 'href="/me/standing/"' in client.get(reverse("me")).content.decode()


def test_out_of_reach_by_attending_says_what_else_keeps_me(season):
    _season, sessions = season
    me = UserFactory(role=Role.MEMBER)
    Attendance.objects.filter(user=me).delete()
    LedgerPolicy.objects.update_or_create(id=1, defaults={"min_attendance_percent": 90})
    cache.clear()
    standing = member_standing(user=me, now=NOW)
    assert standing.still_to_attend == 9 and not standing.reachable


def test_the_audience_has_no_standing(season, client):
    audience = UserFactory(role=Role.AUDIENCE)
    assert member_standing(user=audience, now=NOW) is None
    client.force_login(audience)
    assert 'data-role="no-standing"' in client.get(reverse("ledger:my-standing")).content.decode()
    assert "/me/standing/" not in client.get(reverse("me")).content.decode()


def test_one_notice_per_season_for_those_below_and_not_for_exempt_grace_or_protected(season):
    season, sessions = season
    below = UserFactory(role=Role.MEMBER, email="below@example.org", preferred_language="en")
    newcomer = UserFactory(role=Role.MEMBER)  # admitted during the season: grace
    joined = AuditEvent.objects.create(
        action=AuditEvent.Action.ROLE_CHANGED, subject_user=newcomer,
        details={"from": Role.AUDIENCE.value, "to": Role.MEMBER.value},
    )  # fmt: skip
    AuditEvent.objects.filter(pk=joined.pk).update(at=datetime.datetime(2027, 2, 1, tzinfo=TZ))
    exempt = UserFactory(role=Role.MEMBER)
    LedgerExemption.objects.create(user=exempt, season=season, reason="出差", by=UserFactory())
    tasked = UserFactory(role=Role.MEMBER)
    Task.objects.create(topic=sessions[0].topic, title="调研", assignee=tasked, status="done")
    fine = UserFactory(role=Role.MEMBER)
    _attend(fine, sessions[:4])

    assert at_risk_notices(now=NOW - datetime.timedelta(weeks=2)) == 0  # too early
    assert at_risk_notices(now=NOW) == 1
    cache.clear()  # another process, or the next day: still once per season
    assert at_risk_notices(now=NOW + datetime.timedelta(days=1)) == 0
    notice = Notification.objects.get(kind="at_risk")
    assert notice.recipient == below
    assert "attended 0 of the 5 sessions held" in notice.body_text
    assert "Attend 4 of the remaining 4 to stay a member after 2027-03-31." in notice.body_text
    assert notice.url.endswith("/me/standing/")


def test_a_member_asks_for_an_exemption_and_an_organiser_grants_it(
    season, client, organiser, django_capture_on_commit_callbacks
):
    season, _sessions = season
    me = UserFactory(role=Role.MEMBER, display_name="小张")
    client.force_login(me)
    url = reverse("ledger:my-standing")

    empty = client.post(url, {"reason": "   "}, headers={"accept-language": "en"})
    assert empty.status_code == 200 and "Say why" in empty.content.decode()
    client.post(url, {"reason": "出差两个月"})
    client.post(url, {"reason": "出差两个月，三月回来"})  # asking again replaces the reason
    (asked,) = ExemptionRequest.objects.all()
    assert asked.reason == "出差两个月，三月回来" and asked.season == season
    assert 'data-role="request-open"' in client.get(url).content.decode()

    client.force_login(organiser)
    inbox = client.get(reverse("inbox"), headers={"accept-language": "en"}).content.decode()
    assert "1 member asks for an exemption" in inbox
    page = client.get(reverse("ledger:exemption-requests")).content.decode()
    assert "小张" in page and "三月回来" in page
    with django_capture_on_commit_callbacks(execute=True):  # the inbox's count, on commit
        client.post(reverse("ledger:exemption-request-answer", args=[asked.pk]), {"grant": "1"})

    asked.refresh_from_db()
    assert asked.granted is True and asked.answered_by == organiser
    assert LedgerExemption.objects.get(user=me, season=season).reason == asked.reason
    assert member_standing(user=me, now=NOW).row.status == "exempt"
    inbox = client.get(reverse("inbox"), headers={"accept-language": "en"}).content.decode()
    assert "asks for an exemption" not in inbox
    with pytest.raises(ExemptionRequestError, match="already"):
        exemption_request_answer(request=asked, grant=False, by=organiser)


def test_the_audience_cannot_ask_and_a_member_may_not_answer(season, client, member):
    audience = UserFactory(role=Role.AUDIENCE)
    with pytest.raises(ExemptionRequestError):
        exemption_request(user=audience, reason="太忙")
    asked = exemption_request(user=member, reason="考试")
    with pytest.raises(PermissionDenied):
        exemption_request_answer(request=asked, grant=True, by=member)
    assert not LedgerExemption.objects.exists()

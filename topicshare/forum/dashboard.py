"""The organisers' dashboard: the current season at a glance, as server-side SVG charts
with the same figures in tables beneath them."""

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from members.ledger.services import current_season
from members.models import Application, User
from members.roles import Role
from members.selectors import users_with_role_at_least
from sessions.models import SessionPresenter, Topic, TopicStatus, Track
from sessions.weekly.selectors import season_sessions, season_window
from topicshare.core.backups import backup_status
from topicshare.core.fragments import personal_page
from topicshare.forum.charts import Series, bar_chart, colour_series

STATUS_COLOURS = {
    TopicStatus.PROPOSED: "#94a3b8",
    TopicStatus.ACCEPTED: "#60a5fa",
    TopicStatus.RECRUITING: "#2563eb",
    TopicStatus.PREPARING: "#f59e0b",
    TopicStatus.READY: "#a3e635",
    TopicStatus.SCHEDULED: "#10b981",
    TopicStatus.PRESENTED: "#047857",
    TopicStatus.REJECTED: "#ef4444",
    TopicStatus.WITHDRAWN: "#fca5a5",
    TopicStatus.CANCELLED: "#b91c1c",
}


@dataclass
class Chart:
    key: str
    title: str
    labels: list[str]
    series: list[Series]
    stacked: bool = False

    def __post_init__(self):
        colour_series(self.series)

    @property
    def svg(self):
        return bar_chart(
            title=self.title, labels=self.labels, series=self.series, stacked=self.stacked
        )

    @property
    def table(self) -> list[tuple[str, list[int]]]:
        return [
            (label, [one.values[i] for one in self.series]) for i, label in enumerate(self.labels)
        ]


def _attendance(season) -> Chart:
    sessions = (
        season_sessions(season)
        .select_related("topic")
        .annotate(
            attended_count=Count("attendances", distinct=True),
            rsvp_count=Count("rsvps", distinct=True),
        )
        .order_by("start")
    )
    labels = [f"{session.start:%m-%d} {session.topic.title}" for session in sessions]
    return Chart(
        "attendance",
        _("Attendance per session"),
        labels,
        [
            Series(_("Attended"), [session.attended_count for session in sessions]),
            Series(_("RSVPs"), [session.rsvp_count for session in sessions], "#cbd5e1"),
        ],
    )


def _topics(season, tracks) -> Chart:
    counts = {
        (row["track"], row["status"]): row["n"]
        for row in Topic.objects.filter(season=season)
        .values("track", "status")
        .annotate(n=Count("pk"))
    }
    statuses = [status for status in TopicStatus if any(s == status for _t, s in counts)]
    return Chart(
        "topics",
        _("Topics per track and status"),
        [track.name for track in tracks],
        [
            Series(
                str(status.label),
                [counts.get((track.pk, status.value), 0) for track in tracks],
                STATUS_COLOURS.get(status, ""),
            )
            for status in statuses
        ],
        stacked=True,
    )


def _funnel(season) -> Chart:
    window = season_window(season)
    in_season = Q(created_at__gte=window[0], created_at__lt=window[1]) if window else Q()
    decided = Q(decided_at__gte=window[0], decided_at__lt=window[1]) if window else Q()
    people = User.objects.filter(is_active=True, is_placeholder=False)
    figures = people.aggregate(
        everyone=Count("pk", distinct=True),
        members=Count(
            "pk",
            distinct=True,
            filter=Q(pk__in=users_with_role_at_least(Role.MEMBER).values("pk")),
        ),
    )
    applications = Application.objects.aggregate(
        applied=Count("applicant", distinct=True, filter=in_season),
        admitted=Count(
            "applicant", distinct=True, filter=decided & Q(status=Application.Status.APPROVED)
        ),
    )
    return Chart(
        "funnel",
        _("From audience to members"),
        [
            _("Signed up (everyone)"),
            _("Applied this season"),
            _("Admitted this season"),
            _("Members now"),
        ],
        [
            Series(
                _("People"),
                [
                    figures["everyone"],
                    applications["applied"],
                    applications["admitted"],
                    figures["members"],
                ],
            )
        ],
    )


def _presenters(season, tracks) -> Chart:
    counts = dict(
        SessionPresenter.objects.filter(session__in=season_sessions(season).values("pk"))
        .values_list("session__track")
        .annotate(n=Count("user", distinct=True))
    )
    return Chart(
        "presenters",
        _("Presenters per track"),
        [track.name for track in tracks],
        [Series(_("Presenters"), [counts.get(track.pk, 0) for track in tracks], "#8b5cf6")],
    )


@login_required
@require_GET
@personal_page
def dashboard(request):
    if not request.user.has_perm("members.review_season"):
        raise PermissionDenied
    season = current_season()
    charts = []
    if season is not None:
        tracks = list(Track.objects.all())
        charts = [
            _attendance(season),
            _topics(season, tracks),
            _funnel(season),
            _presenters(season, tracks),
        ]
    context = {"season": season, "charts": charts, "backup": backup_status()}
    return render(request, "staff/dashboard.html", context)

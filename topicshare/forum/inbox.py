"""The organisers' inbox: what waits for them, oldest first, each with its action one click
away. Each kind of item comes from a selector of the app that owns it; this module only
composes them (a fixed number of queries, whatever the number of items)."""

import datetime
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from library.selectors import talks_missing_materials
from members.ledger.selectors import flagged_at_season_end
from members.ledger.services import exemption_requests_waiting
from members.selectors import applications_waiting
from sessions.topics.selectors import topics_waiting
from sessions.weekly.selectors import (
    groups_below_minimum,
    sessions_without_meeting_link,
)
from topicshare.forum.models import AccountDeletion
from topicshare.forum.onboarding import group_changes_waiting

# The count in the navigation: worked out by the inbox page and every minute by beat; kept
# a little longer, so that a late beat does not blank it.
COUNT_KEY = "forum:inbox-count"
COUNT_CACHE_SECONDS = 300

KINDS = {
    "review": gettext_lazy("Topic to review"),
    "promotion": gettext_lazy("Promotion window opens"),
    "small_group": gettext_lazy("Group below the minimum"),
    "ready": gettext_lazy("Ready, without a slot"),
    "meeting_link": gettext_lazy("No meeting link yet"),
    "materials": gettext_lazy("Slides or recording missing"),
    "application": gettext_lazy("Application"),
    "flagged": gettext_lazy("Flagged at the season's end"),
    "study_group": gettext_lazy("Study group in WeChat"),
    "exemption_requests": gettext_lazy("Exemption requests"),
    "account_deletion": gettext_lazy("Account deletion"),
}
# A deletion that is done stays in the inbox this long, for the organisers to know of it.
DELETIONS_SHOWN_DAYS = 14


@dataclass
class InboxItem:
    kind: str
    title: str
    detail: str
    since: datetime.datetime  # waiting since, or due at (in the future)
    action_url: str
    action_label: str

    @property
    def kind_label(self) -> str:
        return str(KINDS[self.kind])

    @property
    def key(self) -> str:
        """Stable per item: tests and the browser find a card by it."""
        return f"{self.kind}-{self.action_url}"


def _local(moment: datetime.datetime) -> str:
    return f"{timezone.localtime(moment):%Y-%m-%d %H:%M}"


def _start_of(day: datetime.date) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time.min, tzinfo=timezone.get_default_timezone())


def _wanted(topic) -> str:
    """“想听”: how many want to hear it (a column of the row: no query)."""
    if not topic.interest_count:
        return ""
    return " · " + ngettext(
        "%(count)d wants to hear it", "%(count)d want to hear it", topic.interest_count
    ) % {"count": topic.interest_count}


def _topic_items(now: datetime.datetime) -> list[InboxItem]:
    items = []
    waiting = topics_waiting(now=now)
    for topic in waiting.to_review:
        items.append(InboxItem(
            "review", topic.title,
            _("%(track)s · proposed by %(name)s") % {"track": topic.track.name,
                                                      "name": topic.proposer.name}
            + _wanted(topic),
            topic.created_at, reverse("topics:detail", args=[topic.pk]) + "#actions",
            _("Review the topic"),
        ))  # fmt: skip
    for topic, opens in waiting.promotion_due:
        items.append(InboxItem(
            "promotion", topic.title,
            _("Recruiting opens %(when)s (two weeks before its week).") % {"when": _local(opens)}
            + _wanted(topic),
            opens, reverse("topic-promote", args=[topic.pk]), _("Open the promotion pack"),
        ))  # fmt: skip
    for topic in waiting.ready_unscheduled:
        items.append(InboxItem(
            "ready", topic.title,
            _("%(track)s · preferred week %(week)s") % {
                "track": topic.track.name,
                "week": topic.preferred_week.isoformat() if topic.preferred_week else "—"},
            topic.ready_since or topic.updated_at,
            reverse("sessions:schedule", args=[topic.pk]), _("Schedule"),
        ))  # fmt: skip
    return items


def _session_items(now: datetime.datetime) -> list[InboxItem]:
    items = []
    for topic, slot in groups_below_minimum(now=now):
        items.append(InboxItem(
            "small_group", topic.title,
            _("%(count)d of at least %(minimum)d participants, %(when)s.") % {
                "count": topic.participant_count, "minimum": topic.minimum, "when": _local(slot)},
            slot - datetime.timedelta(days=7),
            reverse("topics:detail", args=[topic.pk]), _("Open the topic"),
        ))  # fmt: skip
    for session in sessions_without_meeting_link(now=now):
        items.append(InboxItem(
            "meeting_link", session.topic.title,
            _("Starts %(when)s · %(track)s") % {"when": _local(session.start),
                                                "track": session.track.name},
            session.start - datetime.timedelta(days=1),
            reverse("sessions:manage", args=[session.pk]), _("Add the meeting link"),
        ))  # fmt: skip
    return items


def _library_items(now: datetime.datetime) -> list[InboxItem]:
    items = []
    for item in talks_missing_materials(now=now):
        missing = []
        if not item.slides_file and not item.slides_url:
            missing.append(_("slides"))
        if not item.recording_url:
            missing.append(_("recording"))
        items.append(InboxItem(
            "materials", item.title,
            _("Presented %(when)s · missing: %(what)s") % {
                "when": _local(item.session.start), "what": _(", ").join(missing)},
            item.session.start + datetime.timedelta(days=2),
            reverse("library:materials", args=[item.pk]), _("Add the materials"),
        ))  # fmt: skip
    return items


def _member_items(now: datetime.datetime) -> list[InboxItem]:
    items = []
    for application, waits_for, since in applications_waiting(now=now):
        detail = (
            _("%(name)s · waits for a review talk") if waits_for == "review_talk"
            else _("%(name)s · the review talk took place: waits for a decision")
        ) % {"name": application.applicant.name}  # fmt: skip
        items.append(InboxItem(
            "application", application.paper_title, detail, since,
            reverse("admin:members_application_change", args=[application.pk]),
            _("Schedule the review talk") if waits_for == "review_talk" else _("Decide"),
        ))  # fmt: skip
    season, flagged = flagged_at_season_end(today=timezone.localdate(now))
    for row in flagged:
        items.append(InboxItem(
            "flagged", row.user.name,
            _("%(season)s ended · attended %(percent)s") % {
                "season": season.label,
                "percent": "—" if row.attendance_percent is None
                else f"{row.attendance_percent}%"},
            _start_of(season.end_date + datetime.timedelta(days=1)),
            reverse("ledger:season-review", args=[season.pk]), _("Review the season"),
        ))  # fmt: skip
    return items


def _study_group_items(now: datetime.datetime) -> list[InboxItem]:
    """One item for the whole checklist (from the shared cache: no query of its own)."""
    waiting = group_changes_waiting()
    if not waiting:
        return []
    return [InboxItem(
        "study_group", _("People to add to or remove from the study group"),
        _("To add: %(add)d · to remove: %(remove)d") % {
            "add": waiting.to_add, "remove": waiting.to_remove},
        waiting.since or now, reverse("onboarding"), _("Open the checklist"),
    )]  # fmt: skip


def _exemption_items(now: datetime.datetime) -> list[InboxItem]:
    """One item for the members' open requests (from the shared cache: no query of its own)."""
    waiting = exemption_requests_waiting()
    if not waiting.count:
        return []
    return [InboxItem(
        "exemption_requests",
        ngettext("%(count)d member asks for an exemption",
                 "%(count)d members ask for an exemption", waiting.count)
        % {"count": waiting.count},
        _("Grant it for the season, or decline it."),
        waiting.since or now, reverse("ledger:exemption-requests"), _("Answer"),
    )]  # fmt: skip


def _deletion_items(now: datetime.datetime) -> list[InboxItem]:
    """Members who asked to delete their account (waiting for their e-mailed confirmation)
    and accounts deleted lately, by the neutral name they have now (one query)."""
    since = now - datetime.timedelta(days=DELETIONS_SHOWN_DAYS)
    deletions = AccountDeletion.objects.filter(
        Q(done_at__isnull=True) | Q(done_at__gte=since)
    ).select_related("user")
    items = []
    for deletion in deletions:
        if deletion.done_at is None:
            title = _("%(name)s asked to delete their account") % {"name": deletion.user.name}
            detail = _("Waiting for their confirmation by e-mail; nothing to do yet.")
        else:
            title = _("%(name)s deleted their account") % {"name": deletion.user.name}
            detail = _(
                "Deleted %(when)s. Their talks, attendance and records stay under this name; "
                "topics they proposed and not yet presented need a decision."
            ) % {"when": _local(deletion.done_at)}
        items.append(InboxItem(
            "account_deletion", title, detail, deletion.done_at or deletion.requested_at,
            reverse("admin:members_user_change", args=[deletion.user_id]), _("See the account"),
        ))  # fmt: skip
    return items


def inbox_items(*, now: datetime.datetime) -> list[InboxItem]:
    """Everything that waits, oldest (or soonest due) first."""
    items = [
        *_topic_items(now), *_session_items(now), *_library_items(now), *_member_items(now),
        *_study_group_items(now), *_exemption_items(now), *_deletion_items(now),
    ]  # fmt: skip
    items.sort(key=lambda item: (item.since, item.kind, item.title))
    _remember_count(len(items))
    return items


def _remember_count(count: int) -> None:
    cache.set(COUNT_KEY, count, COUNT_CACHE_SECONDS)


def inbox_count_refresh(*, now: datetime.datetime) -> int:
    """Work the count out again (beat runs it every minute: forum.refresh_inbox_count)."""
    return len(inbox_items(now=now))


def cached_inbox_count() -> int | None:
    """The count the navigation shows: read from the cache, never worked out during an
    ordinary page (that would cost every organiser's page some twenty queries). None when
    it is not known yet."""
    return cache.get(COUNT_KEY)

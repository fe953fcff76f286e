"""RFC 5545 calendar feeds of the weekly sessions: which sessions a feed holds, the .ics itself,
and the secret token in the address of a person's own feed."""

import datetime
import html
import re
import secrets
import zoneinfo
from collections.abc import Iterable

from django.conf import settings
from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.html import strip_tags
from django.utils.translation import gettext as _
from icalendar import Alarm, Calendar, Event, vCalAddress, vDuration, vText

from members.models import User
from sessions.models import (
    RSVP,
    Participation,
    SessionPresenter,
    SessionStatus,
    Topic,
    Track,
    WeeklySession,
)

PRODID = "-//TopicShare//Weekly sessions//EN"
# Past sessions stay in calendars for a while, and a cancellation must reach calendars that
# last fetched the feed before it happened.
CALENDAR_PAST = datetime.timedelta(weeks=8)
# How often calendar apps that honour it fetch the feed again.
REFRESH_INTERVAL = datetime.timedelta(hours=1)
OFF_CALENDAR_STATUSES = {SessionStatus.CANCELLED, SessionStatus.POSTPONED}
# The lead times a person's feed may carry as a reminder alarm (?alarm=…): off when absent.
ALARMS = {
    "15m": datetime.timedelta(minutes=15),
    "1h": datetime.timedelta(hours=1),
    "1d": datetime.timedelta(days=1),
}


# --- Which sessions ------------------------------------------------------------------------


def calendar_sessions(
    *,
    track: Track | None = None,
    user: User | None = None,
    now: datetime.datetime | None = None,
) -> QuerySet[WeeklySession]:
    """Sessions from 8 weeks before `now` onwards, cancelled and postponed ones included (so
    that calendars drop them), with what an event shows. Two queries whatever the number of
    sessions.

    With `user`: only the sessions that person presents (as a presenter of the session, or as
    proposer or co-presenter of its topic), is in the group of, or RSVP'd to."""
    now = now or timezone.now()
    since = now - CALENDAR_PAST
    sessions = (
        WeeklySession.objects.filter(
            Q(start__gte=since) | Q(status__in=OFF_CALENDAR_STATUSES, updated_at__gte=since)
        )
        .select_related("track", "topic", "topic__proposer")
        .prefetch_related("topic__co_presenters")
        .order_by("start", "id")
    )
    if track is not None:
        sessions = sessions.filter(track=track)
    if user is not None:
        co_presented = Topic.co_presenters.through.objects.filter(user=user).values("topic_id")
        sessions = sessions.filter(
            Q(pk__in=SessionPresenter.objects.filter(user=user).values("session_id"))
            | Q(topic__proposer=user)
            | Q(topic_id__in=co_presented)
            | Q(topic_id__in=Participation.objects.filter(user=user).values("topic_id"))
            | Q(pk__in=RSVP.objects.filter(user=user).values("session_id"))
        ).annotate(
            # The person's own answer, for the event's ATTENDEE (in the same query).
            viewer_rsvp=Exists(RSVP.objects.filter(session=OuterRef("pk"), user=user)),
            viewer_presents=ExpressionWrapper(
                Q(Exists(SessionPresenter.objects.filter(session=OuterRef("pk"), user=user)))
                | Q(topic__proposer=user)
                | Q(topic_id__in=co_presented),
                output_field=BooleanField(),
            ),
        )
    return sessions


def session_presenter_names(session: WeeklySession) -> list[str]:
    """The proposer first, then the co-presenters (uses the prefetched co-presenters)."""
    topic = session.topic
    co_presenters = [user for user in topic.co_presenters.all() if user.pk != topic.proposer_id]
    return [topic.proposer.name, *(user.name for user in co_presenters)]


# --- The .ics ------------------------------------------------------------------------------


def _plain_text(rendered: str) -> str:
    """A summary's stored HTML as plain text: no markup, a blank line between blocks, list
    items as "- "."""
    rendered = rendered.replace("<li>", "<li>- ")
    rendered = re.sub(r"</(p|h[1-6]|pre|blockquote|ul|ol|table)>", "\n", rendered)
    text = html.unescape(strip_tags(rendered))
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _utc(value: datetime.datetime) -> datetime.datetime:
    return value.astimezone(datetime.UTC)


def _description(session: WeeklySession, *, include_meeting: bool, topic_url: str) -> str:
    topic = session.topic
    lines = [_("Presenters: %(names)s") % {"names": ", ".join(session_presenter_names(session))}]
    if topic.sub_theme:
        lines.append(_("Sub-theme: %(sub_theme)s") % {"sub_theme": topic.sub_theme})
    if include_meeting:
        if session.meeting_provider:
            lines.append(
                _("Meeting: %(provider)s") % {"provider": session.get_meeting_provider_display()}
            )
        if session.meeting_url:
            lines.append(_("Meeting link: %(url)s") % {"url": session.meeting_url})
        if session.meeting_id:
            lines.append(_("Meeting ID: %(id)s") % {"id": session.meeting_id})
        if session.meeting_passcode:
            lines.append(_("Passcode: %(passcode)s") % {"passcode": session.meeting_passcode})
    summary = _plain_text(topic.summary_html)
    if summary:
        lines += ["", summary]
    lines += ["", _("Topic: %(url)s") % {"url": topic_url}]
    return "\n".join(lines)


def _event(
    session: WeeklySession,
    *,
    include_meeting: bool,
    base_url: str,
    stamp: datetime.datetime,
    alarm: datetime.timedelta | None = None,
    attendee: User | None = None,
) -> Event:
    zone = zoneinfo.ZoneInfo(session.track.time_zone)
    topic_url = base_url + reverse("topics:detail", args=[session.topic_id])
    event = Event()
    event.add("uid", f"session-{session.pk}@topicshare")
    event.add("dtstamp", stamp)
    event.add("dtstart", session.start.astimezone(zone))
    event.add("dtend", session.end.astimezone(zone))
    event.add("summary", f"{session.topic.title} · {session.track.name}")
    event.add(
        "description",
        _description(session, include_meeting=include_meeting, topic_url=topic_url),
    )
    event.add("url", base_url + reverse("sessions:detail", args=[session.pk]))
    event.add("categories", [session.track.name])
    event.add("sequence", session.sequence)
    event.add("status", "CANCELLED" if session.status in OFF_CALENDAR_STATUSES else "CONFIRMED")
    event.add("created", _utc(session.created_at))
    # The event shows the topic's title and summary too: editing them modifies the event.
    event.add("last-modified", _utc(max(session.updated_at, session.topic.updated_at)))
    if include_meeting and session.meeting_url:
        event.add("location", session.meeting_url)
    if attendee is not None and attendee.email:
        _add_attendee(event, session, attendee)
    if alarm is not None and session.status not in OFF_CALENDAR_STATUSES:
        reminder = Alarm()
        reminder.add("uid", f"session-{session.pk}-alarm@topicshare")
        reminder.add("action", "DISPLAY")
        reminder.add("description", session.topic.title)
        reminder.add("trigger", -alarm)
        event.add_component(reminder)
    return event


def _add_attendee(event: Event, session: WeeklySession, person: User) -> None:
    """The person's own place in the event: chair where they present, accepted where they
    RSVP'd, still to answer where they are only in the group (annotated by calendar_sessions)."""
    presents = getattr(session, "viewer_presents", False)
    answered = presents or getattr(session, "viewer_rsvp", False)
    status = "ACCEPTED" if answered else "NEEDS-ACTION"
    address = vCalAddress(f"mailto:{person.email}")
    address.params["cn"] = vText(person.name)
    address.params["role"] = vText("CHAIR" if presents else "REQ-PARTICIPANT")
    address.params["partstat"] = vText(status)
    address.params["rsvp"] = vText("FALSE")
    event.add("attendee", address, encode=0)


def build_calendar(
    *,
    sessions: Iterable[WeeklySession],
    name: str,
    include_meeting: bool,
    base_url: str,
    now: datetime.datetime | None = None,
    alarm: datetime.timedelta | None = None,
    attendee: User | None = None,
) -> bytes:
    """An RFC 5545 VCALENDAR (METHOD:PUBLISH) with one VEVENT per session and a VTIMEZONE for
    each time zone the events use. `base_url` is the site's origin ("https://host/"); the
    meeting link, ID and passcode appear only with `include_meeting`. A person's own feed may
    carry a reminder `alarm` (a VALARM that long before each event that takes place) and its
    `attendee`'s answer (from calendar_sessions(user=…))."""
    stamp = _utc(now or timezone.now())
    base_url = base_url.rstrip("/")
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", settings.TIME_ZONE)
    calendar.add("refresh-interval", REFRESH_INTERVAL, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH_INTERVAL))
    starts = []
    for session in sessions:
        calendar.add_component(
            _event(
                session,
                include_meeting=include_meeting,
                base_url=base_url,
                stamp=stamp,
                alarm=alarm,
                attendee=attendee,
            )
        )
        starts.append(session.start)
    if starts:
        # VTIMEZONE rules covering the events (a year either side), not every rule since 1970.
        year = datetime.timedelta(days=366)
        calendar.add_missing_timezones(
            first_date=(min(starts) - year).date(), last_date=(max(starts) + year).date()
        )
    return calendar.to_ical()


# --- The token of a person's feed ----------------------------------------------------------


def calendar_token_regenerate(*, user: User) -> str:
    """Give `user` a new calendar token; the address with the old one stops working at once."""
    user.calendar_token = secrets.token_urlsafe(32)
    user.save(update_fields=["calendar_token"])
    return user.calendar_token


def calendar_token_for(*, user: User) -> str:
    """The user's calendar token, made on first use. Two requests racing to make it agree on
    one token: only a user without a token gets one."""
    if user.calendar_token:
        return user.calendar_token
    token = secrets.token_urlsafe(32)
    made = (
        User.objects.filter(pk=user.pk)
        .filter(Q(calendar_token__isnull=True) | Q(calendar_token=""))
        .update(calendar_token=token)
    )
    if made:
        user.calendar_token = token
    else:
        user.refresh_from_db(fields=["calendar_token"])
    return user.calendar_token

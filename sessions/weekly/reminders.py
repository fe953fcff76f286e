"""Materialise the time-based reminders (ReminderRule) that are due into the outbox.

Run by the dispatcher every minute. For each enabled rule, a session whose reminder moment
(start + offset) has come, and passed less than `stale_after` ago, gets its notifications
queued once per occasion (its start time); a ReminderMark remembers that, so the sweep does
not recompute recipients. A session scheduled late gets the already-due reminders at once,
except those whose moment passed too long ago."""

import datetime
import logging

from django.contrib.contenttypes.models import ContentType
from django.db import IntegrityError, transaction
from django.db.models import Count, Q

from sessions.models import (
    Participation,
    ReminderMark,
    ReminderRule,
    SessionStatus,
    Topic,
    WeeklySession,
)
from sessions.topics.notices import (
    chats_for,
    interested_in,
    members,
    organisers,
    participants_of,
    topic_pack_message,
    topic_promotion_message,
    track_followers,
)
from sessions.weekly.calendar import build_calendar
from sessions.weekly.notices import occasion_of, presenters_of, rsvps_of, session_message
from topicshare.core.links import site_url
from topicshare.notifications.models import NotificationKind
from topicshare.notifications.outbox import Attachment, Message, notification_enqueue

logger = logging.getLogger(__name__)

K = NotificationKind


def _recipients(rule: ReminderRule, session: WeeklySession) -> list:
    people = []
    if rule.kind == K.PROMOTION:
        # Who said “想听” is first in line: queued (and so sent) before everyone else.
        people += interested_in(session.topic)
    if rule.to_presenters:
        people += presenters_of(session)
    if rule.to_participants:
        people += participants_of(session.topic)
    if rule.to_rsvps:
        people += rsvps_of(session)
    if rule.to_members:
        people += members()
    if rule.to_track_followers:
        people += track_followers(session.track)
    if rule.to_organisers:
        people += organisers()
    return people


def _due_sessions(rule: ReminderRule, now: datetime.datetime):
    statuses = [SessionStatus.SCHEDULED, SessionStatus.LIVE]
    if rule.offset > datetime.timedelta(0):
        statuses.append(SessionStatus.DONE)
    return (
        WeeklySession.objects.filter(
            status__in=statuses,
            start__lte=now - rule.offset,
            start__gt=now - rule.offset - rule.stale_after,
        )
        .select_related("topic", "track", "topic__proposer")
        .prefetch_related("topic__co_presenters")
        .annotate(
            participant_total=Count(
                "topic__participations",
                filter=Q(topic__participations__role=Participation.Role.PARTICIPANT),
            )
        )
    )


def topic_promote(*, topic: Topic, slot: datetime.datetime, now: datetime.datetime) -> int:
    """The promotion of a topic that has no session yet, when it starts recruiting two weeks
    before its preferred week (sessions.topics.services.topics_open_recruiting), per the
    promotion's reminder rule. Returns how many notifications were queued."""
    rule = ReminderRule.objects.filter(kind=K.PROMOTION, enabled=True).first()
    if rule is None:
        return 0
    return notification_enqueue(
        kind=rule.kind,
        subject=topic,
        occasion=topic.preferred_week.isoformat(),
        recipients=[*interested_in(topic), *members(), *track_followers(topic.track)]
        if rule.by_email
        else [],
        channels=list(chats_for(track=topic.track, audience=rule.chat_audience)),
        render=lambda: topic_promotion_message(topic, slot),
        due_at=now,
    ) + _pack_to_organisers(
        topic, topic.preferred_week.isoformat(), lambda: topic_pack_message(topic, slot), now
    )


def _pack_to_organisers(subject, occasion: str, render, now: datetime.datetime) -> int:
    """With a promotion reminder, the organisers get its pack's link (they alone may open
    it), by e-mail, once per subject and occasion like every notification."""
    return notification_enqueue(
        kind=K.PROMOTION_PACK,
        subject=subject,
        occasion=occasion,
        recipients=organisers(),
        render=render,
        due_at=now,
    )


def reminders_materialise(*, now: datetime.datetime) -> int:
    """Queue every due reminder once. Returns how many notifications were queued."""
    session_type = ContentType.objects.get_for_model(WeeklySession)
    queued = 0
    for rule in ReminderRule.objects.filter(enabled=True):
        sessions = list(_due_sessions(rule, now))
        if not sessions:
            continue
        done = set(
            ReminderMark.objects.filter(
                kind=rule.kind, subject_type=session_type, subject_id__in=[s.pk for s in sessions]
            ).values_list("subject_id", "occasion")
        )
        for session in sessions:
            occasion = occasion_of(session)
            if (session.pk, occasion) in done:
                continue
            queued += _materialise_one(rule, session, occasion, session_type, now)
    return queued


@transaction.atomic
def _materialise_one(rule, session, occasion, session_type, now) -> int:
    try:
        with transaction.atomic():
            ReminderMark.objects.create(
                kind=rule.kind, subject_type=session_type, subject_id=session.pk, occasion=occasion
            )
    except IntegrityError:
        return 0  # another dispatcher got here first
    topic = session.topic
    # Annotated by _due_sessions; Topic.participant_count reads it without a query.
    topic.participant_total = session.participant_total
    if rule.kind == K.RECRUITMENT_CHECK and topic.participant_count >= rule.minimum_group:
        return 0
    channels = list(chats_for(track=session.track, audience=rule.chat_audience))
    # The day before, the e-mail brings the session's calendar event (with the meeting link).
    attachments = [session_calendar_attachment(session)] if rule.kind == K.DAY_BEFORE else []

    def render() -> Message:
        message = session_message(rule.kind, session)
        message.attachments = attachments
        return message

    queued = notification_enqueue(
        kind=rule.kind,
        subject=session,
        occasion=occasion,
        recipients=_recipients(rule, session) if rule.by_email else [],
        channels=channels,
        render=render,
        due_at=now,
    )
    if rule.kind == K.PROMOTION:
        queued += _pack_to_organisers(
            session, occasion, lambda: session_message(K.PROMOTION_PACK, session), now
        )
    return queued


def session_calendar_attachment(session: WeeklySession) -> Attachment:
    ics = build_calendar(
        sessions=[session], name=session.topic.title, include_meeting=True, base_url=site_url()
    )
    return Attachment(
        filename="topicshare.ics",
        content=ics.decode() if isinstance(ics, bytes) else ics,
        mimetype="text/calendar; charset=utf-8; method=PUBLISH",
    )

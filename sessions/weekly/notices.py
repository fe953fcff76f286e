"""What the forum tells people, and whom: the messages of the reminders and event notices.
Queued through the outbox (topicshare/notifications/outbox.py), never sent from here."""

import datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from sessions.models import SessionChange, WeeklySession
from sessions.topics.notices import K, interested_in, pack_message, participants_of, people
from topicshare.notifications.outbox import (
    Message,
    absolute_url,
    notification_enqueue,
    notifications_cancel,
)

# (with the organisers' notice of the promotion's pack, which goes with the promotion)
REMINDER_KINDS = [
    K.PROMOTION, K.PROMOTION_PACK, K.RECRUITMENT_CHECK, K.DAY_BEFORE, K.AT_START, K.AFTER,
]  # fmt: skip


def occasion_of(session: WeeklySession) -> str:
    """Reminders belong to a session at one start time: a slipped session gets new ones."""
    return session.start.astimezone(datetime.UTC).strftime("%Y%m%dT%H%MZ")


# --- Who ---------------------------------------------------------------------------------------


def presenters_of(session: WeeklySession):
    return people().filter(presenting__session=session).distinct()


def rsvps_of(session: WeeklySession):
    return people().filter(rsvps__session=session)


def _when(session: WeeklySession) -> str:
    local = timezone.localtime(session.start)
    return f"{local:%Y-%m-%d %H:%M} ({timezone.get_current_timezone_name()})"


def _presenter_names(session: WeeklySession) -> str:
    topic = session.topic
    return "、".join([topic.proposer.name, *(p.name for p in topic.co_presenters.all())])


def _meeting_lines(session: WeeklySession) -> list[str]:
    """What the session page shows signed-in people only: for e-mails, never for chats
    (Message.private)."""
    lines = []
    if session.meeting_url:
        lines.append(_("Meeting link: %(url)s") % {"url": session.meeting_url})
    if session.meeting_id:
        lines.append(_("Meeting ID: %(id)s") % {"id": session.meeting_id})
    if session.meeting_passcode:
        lines.append(_("Passcode: %(passcode)s") % {"passcode": session.meeting_passcode})
    if session.organiser_note:
        lines.append(_("Note from the organisers: %(note)s") % {"note": session.organiser_note})
    return lines


def session_message(kind: str, session: WeeklySession) -> Message:
    """The reminder `kind` about `session`, in the active language."""
    topic = session.topic
    url = absolute_url(reverse("sessions:detail", args=[session.pk]))
    about = _("“%(title)s” by %(presenters)s, %(when)s, track %(track)s.") % {
        "title": topic.title,
        "presenters": _presenter_names(session),
        "when": _when(session),
        "track": session.track.name,
    }
    # The chat cards' picture (webhooks.CARD_KINDS): the poster (topicshare/forum/promotion.py).
    poster = absolute_url(reverse("session-poster", args=[session.pk]))
    if kind == K.PROMOTION:
        summary = topic.summary.strip()
        return Message(
            _("Coming up in two weeks: %(title)s") % {"title": topic.title},
            [about, summary[:600] if summary else "",
             _("The participant group is recruiting: join it on the topic page.")],
            absolute_url(reverse("topics:detail", args=[topic.pk])),
            image_url=poster,
        )  # fmt: skip
    if kind == K.PROMOTION_PACK:
        return pack_message(topic.title, about, reverse("session-promote", args=[session.pk]))
    if kind == K.RECRUITMENT_CHECK:
        return Message(
            _("The group of “%(title)s” is still small") % {"title": topic.title},
            [about, _("%(count)d of %(capacity)d places are taken, one week before the session.")
             % {"count": topic.participant_count, "capacity": topic.capacity}],
            absolute_url(reverse("topics:detail", args=[topic.pk])),
        )  # fmt: skip
    # In chat messages instead of the meeting details.
    sign_in = _("Sign in on the forum to see the meeting link on the session page.")
    if kind == K.DAY_BEFORE:
        return Message(
            _("Tomorrow: %(title)s") % {"title": topic.title},
            [about],
            url,
            private=[*_meeting_lines(session), _("The calendar event is attached.")],
            instead_of_private=sign_in,
            image_url=poster,
        )
    if kind == K.AT_START:
        return Message(
            _("Starting now: %(title)s") % {"title": topic.title},
            [about],
            url,
            private=_meeting_lines(session),
            instead_of_private=sign_in,
        )
    if kind == K.AFTER:
        item = session.library_items.filter(parent__isnull=True).first()
        if item is not None:
            url = absolute_url(reverse("library:materials", args=[item.pk]))
        return Message(
            _("Thank you for presenting “%(title)s”") % {"title": topic.title},
            [_("Please send the slides and the recording link (with its extraction code) so "
               "that they can go into the library.")],
            url,
        )  # fmt: skip
    if kind == K.SESSION_SCHEDULED:
        return Message(
            _("Scheduled: %(title)s") % {"title": topic.title},
            [about],
            url,
            private=_meeting_lines(session),
            instead_of_private=sign_in,
        )
    if kind == K.SESSION_SLIPPED:
        return Message(
            _("Moved: %(title)s") % {"title": topic.title},
            [_("The session moved to a new time."), about],
            url,
        )
    if kind == K.SESSION_CANCELLED:
        status = session.get_status_display()
        return Message(
            _("%(status)s: %(title)s") % {"status": status, "title": topic.title},
            [about, _("Reason: %(reason)s") % {"reason": session.cancel_reason or "—"}],
            url,
        )
    raise ValueError(kind)


def session_webhook_data(session: WeeklySession) -> dict:
    """What integrations are told about a session: public fields only (never the meeting's
    link, ID or passcode)."""
    from topicshare.core.links import absolute_url

    return {
        "id": session.pk,
        "title": session.topic.title,
        "url": absolute_url(reverse("sessions:detail", args=[session.pk])),
        "start": timezone.localtime(session.start).isoformat(),
        "end": timezone.localtime(session.end).isoformat(),
        "track": session.track.slug,
        "status": session.status,
        "topic": session.topic_id,
    }


def _session_webhook(*, session: WeeklySession, change) -> None:
    from topicshare.notifications.outgoing import webhook_event_emit

    event = {
        SessionChange.Kind.SCHEDULED: "session.scheduled",
        SessionChange.Kind.SLIPPED: "session.moved",
        SessionChange.Kind.MOVED: "session.moved",
        SessionChange.Kind.POSTPONED: "session.cancelled",
        SessionChange.Kind.CANCELLED: "session.cancelled",
    }.get(change.kind)
    if event is None or session.topic.members_only:
        return
    data = session_webhook_data(session)
    if change.from_start:
        data["previous_start"] = timezone.localtime(change.from_start).isoformat()
    if event == "session.cancelled":
        data["reason"] = change.reason
    webhook_event_emit(event_type=event, data=data, key=f"{event}:{session.pk}:{change.pk}")


def notify_session_change(*, session: WeeklySession, change) -> None:
    """Scheduled, slipped, postponed or cancelled: tell the people concerned, and re-plan the
    reminders (a moved session gets new ones at its new time; a cancelled one none)."""
    change_kind = SessionChange.Kind
    kind = {
        change_kind.SCHEDULED: K.SESSION_SCHEDULED,
        change_kind.SLIPPED: K.SESSION_SLIPPED,
        change_kind.MOVED: K.SESSION_SLIPPED,
        change_kind.POSTPONED: K.SESSION_CANCELLED,
        change_kind.CANCELLED: K.SESSION_CANCELLED,
    }.get(change.kind)
    if kind is None:
        return
    _session_webhook(session=session, change=change)
    if change.kind in {SessionChange.Kind.SLIPPED, SessionChange.Kind.MOVED}:
        notifications_cancel(
            subject=session, kinds=REMINDER_KINDS, keep_occasion=occasion_of(session)
        )
    elif change.kind in {SessionChange.Kind.POSTPONED, SessionChange.Kind.CANCELLED}:
        notifications_cancel(subject=session, kinds=REMINDER_KINDS)
    # presenters_of includes presenters of a cancelled session (their rows are inactive).
    recipients = [*presenters_of(session), *participants_of(session.topic), *rsvps_of(session)]
    if change.kind == SessionChange.Kind.SCHEDULED:
        recipients += interested_in(session.topic)  # “想听”: told when it is scheduled
    notification_enqueue(
        kind=kind,
        subject=session,
        occasion=str(change.pk),
        recipients=recipients,
        render=lambda: session_message(kind, session),
        due_at=change.at,
    )

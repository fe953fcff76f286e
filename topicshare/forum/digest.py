"""Following tracks and tags: new topics, scheduled sessions and new library items there reach
a person at once or in one weekly digest (Monday morning, Asia/Shanghai), in their language,
through the outbox — exactly once: a digest is one notification per person and week, a piece
of news one per person and news (the outbox's unique occasion)."""

import datetime
from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from library.models import LibraryItem
from members.models import NewsDelivery, User
from sessions.models import SessionChange, Topic, TopicStatus
from topicshare.core.links import absolute_url
from topicshare.notifications.models import Notification, NotificationKind
from topicshare.notifications.outbox import Message, notification_enqueue

DIGEST_WEEKDAY, DIGEST_HOUR = 0, 9  # Monday 09:00 in the forum's time zone
INSTANT_WINDOW = datetime.timedelta(days=1)  # news older than this is not sent "at once"
MAX_NEWS = 50  # lines of one digest


@dataclass(frozen=True)
class News:
    key: str  # the outbox's occasion for a piece of news sent at once
    kind: str  # "topic", "session" or "item"
    title: str
    url: str
    at: datetime.datetime
    track_id: int | None
    tag_ids: frozenset[int] = frozenset()

    def heading(self) -> str:
        label = {
            "topic": _("New topic"), "session": _("Scheduled"), "item": _("In the library"),
        }[self.kind]  # fmt: skip
        return f"{label}: {self.title}"

    def line(self) -> str:
        return f"{self.heading()} — {self.url}"


def news_between(since: datetime.datetime, until: datetime.datetime) -> list[News]:
    """Everything that happened in the window, whoever follows it (three queries)."""
    news: list[News] = []
    topics = (
        Topic.objects.filter(created_at__gte=since, created_at__lt=until)
        .exclude(status__in=[TopicStatus.REJECTED, TopicStatus.WITHDRAWN])
        .only("pk", "title", "track_id", "created_at")
    )
    for topic in topics:
        news.append(News(
            f"topic-{topic.pk}", "topic", topic.title,
            absolute_url(reverse("topics:detail", args=[topic.pk])), topic.created_at,
            topic.track_id,
        ))  # fmt: skip
    scheduled = SessionChange.objects.filter(
        kind=SessionChange.Kind.SCHEDULED, at__gte=since, at__lt=until
    ).select_related("session__topic")
    for change in scheduled:
        session = change.session
        when = timezone.localtime(session.start).strftime("%Y-%m-%d %H:%M")
        news.append(News(
            f"session-{session.pk}-{change.pk}", "session", f"{session.topic.title} ({when})",
            absolute_url(reverse("sessions:detail", args=[session.pk])), change.at,
            session.track_id,
        ))  # fmt: skip
    items = LibraryItem.objects.filter(
        created_at__gte=since, created_at__lt=until, parent__isnull=True,
        visibility=LibraryItem.Visibility.PUBLIC,
    ).prefetch_related("tags")  # fmt: skip
    for item in items:
        news.append(News(
            f"item-{item.pk}", "item", item.title,
            absolute_url(reverse("library:detail", args=[item.pk])), item.created_at,
            item.domain_id, frozenset(tag.pk for tag in item.tags.all()),
        ))  # fmt: skip
    news.sort(key=lambda piece: piece.at)
    return news


def _followed(person: User, news: list[News]) -> list[News]:
    tracks = {track.pk for track in person.tracks_of_interest.all()}
    tags = {tag.pk for tag in person.followed_tags.all()}
    return [
        piece for piece in news
        if (piece.track_id is not None and piece.track_id in tracks) or piece.tag_ids & tags
    ]  # fmt: skip


def _subscribers(delivery: str):
    return User.objects.filter(
        news_delivery=delivery, is_active=True, is_placeholder=False
    ).prefetch_related("followed_tags", "tracks_of_interest")


def digest_sweep(*, now: datetime.datetime) -> int:
    """The outbox's per-minute sweep: news of the last day to those who want it at once; on
    Monday from 09:00, last week's digest to the others. Returns how many were queued."""
    queued = _instant(now)
    local = timezone.localtime(now)
    if local.weekday() == DIGEST_WEEKDAY and local.hour >= DIGEST_HOUR:
        queued += weekly_digest(monday=local.date(), now=now)
    return queued


def _instant(now: datetime.datetime) -> int:
    subscribers = list(_subscribers(NewsDelivery.INSTANT))
    if not subscribers:
        return 0
    news = news_between(now - INSTANT_WINDOW, now)
    if not news:
        return 0
    sent = set(
        Notification.objects.filter(
            kind=NotificationKind.FOLLOWED_NEWS, created_at__gte=now - 2 * INSTANT_WINDOW
        ).values_list("recipient_id", "occasion")
    )
    queued = 0
    for person in subscribers:
        since = person.followed_since or now
        for piece in _followed(person, news):
            if piece.at < since or (person.pk, piece.key) in sent:
                continue
            queued += notification_enqueue(
                kind=NotificationKind.FOLLOWED_NEWS, subject=person, occasion=piece.key,
                recipients=[person], render=lambda piece=piece: _instant_message(piece),
                due_at=now,
            )  # fmt: skip
    return queued


def _instant_message(piece: News) -> Message:
    return Message(piece.heading(), [piece.line(), _manage_line()], piece.url)


def weekly_digest(*, monday: datetime.date, now: datetime.datetime) -> int:
    """Last week's news (Monday to Sunday before `monday`), one e-mail a person who follows
    any of it; once per person and week, also when the sweep runs again."""
    zone = timezone.get_default_timezone()
    until = datetime.datetime.combine(monday, datetime.time.min, tzinfo=zone)
    occasion = f"week-{monday.isoformat()}"
    done = set(
        Notification.objects.filter(
            kind=NotificationKind.WEEKLY_DIGEST, occasion=occasion
        ).values_list("recipient_id", flat=True)
    )
    subscribers = [p for p in _subscribers(NewsDelivery.WEEKLY) if p.pk not in done]
    if not subscribers:
        return 0
    news = news_between(until - datetime.timedelta(days=7), until)
    queued = 0
    for person in subscribers:
        mine = _followed(person, news)
        if not mine:
            continue
        queued += notification_enqueue(
            kind=NotificationKind.WEEKLY_DIGEST, subject=person, occasion=occasion,
            recipients=[person],
            render=lambda mine=mine: _digest_message(mine, monday), due_at=now,
        )  # fmt: skip
    return queued


def _digest_message(news: list[News], monday: datetime.date) -> Message:
    lines = [piece.line() for piece in news[:MAX_NEWS]]
    if len(news) > MAX_NEWS:
        lines.append(_("… and %(count)d more.") % {"count": len(news) - MAX_NEWS})
    lines.append(_manage_line())
    return Message(
        _("Your week at the forum: %(count)d new") % {"count": len(news)},
        lines,
        absolute_url(reverse("follow")),
    )


def _manage_line() -> str:
    return _("Choose what you follow and how often: %(url)s") % {
        "url": absolute_url(reverse("follow"))
    }

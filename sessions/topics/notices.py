"""What the forum tells people, and whom: the messages of the reminders and event notices.
Queued through the outbox (topicshare/notifications/outbox.py), never sent from here."""

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from members.models import User
from members.roles import Role
from members.selectors import users_with_role_at_least
from sessions.topics.models import Participation, Topic, TopicStatus
from topicshare.notifications.models import ChatWebhook, NotificationKind
from topicshare.notifications.outbox import (
    Message,
    absolute_url,
    notification_enqueue,
)

K = NotificationKind


def people():
    return User.objects.filter(is_active=True, is_placeholder=False).exclude(email="")


def participants_of(topic: Topic):
    return people().filter(
        participations__topic=topic, participations__role=Participation.Role.PARTICIPANT
    )


def interested_in(topic: Topic):
    """The people who want to hear `topic` (“想听”), first come first."""
    return (
        people()
        .filter(topic_interests__topic=topic)
        .order_by("topic_interests__created_at", "topic_interests__id")
    )


def members():
    return users_with_role_at_least(Role.MEMBER, among=people())


def organisers():
    return users_with_role_at_least(Role.ORGANISER, among=people())


def track_followers(track):
    return people().filter(tracks_of_interest=track)


def chats_for(*, track, audience: str):
    """Enabled chat webhooks of that group, forum-wide or for the session's track."""
    if not audience:
        return ChatWebhook.objects.none()
    return (
        ChatWebhook.objects.filter(enabled=True, audience=audience)
        .filter(Q(tracks__isnull=True) | Q(tracks=track))
        .distinct()
    )


# --- What ------------------------------------------------------------------------------------


def _planned(topic: Topic, slot) -> str:
    local = timezone.localtime(slot)
    return _("“%(title)s” by %(presenter)s, planned for the week of %(week)s, track %(track)s.") % {
        "title": topic.title, "presenter": topic.proposer.name, "week": f"{local:%Y-%m-%d}",
        "track": topic.track.name,
    }  # fmt: skip


def topic_promotion_message(topic: Topic, slot) -> Message:
    return Message(
        _("Coming up in two weeks: %(title)s") % {"title": topic.title},
        [
            _planned(topic, slot),
            topic.summary.strip()[:600],
            _("The participant group is recruiting: join it on the topic page."),
        ],
        absolute_url(reverse("topics:detail", args=[topic.pk])),
        # the chat cards' picture: the poster (topicshare/forum/promotion.py)
        image_url=absolute_url(reverse("topic-poster", args=[topic.pk])),
    )


def topic_pack_message(topic: Topic, slot) -> Message:
    return pack_message(
        topic.title, _planned(topic, slot), reverse("topic-promote", args=[topic.pk])
    )


def pack_message(title: str, about: str, pack_path: str) -> Message:
    """To the organisers, with a promotion reminder: its pack, one click away."""
    return Message(
        _("Time to promote: %(title)s") % {"title": title},
        [about, _("The promotion pack is ready: the poster, the group text for the WeChat groups"
                  " and the official-account article, each with a copy button.")],
        absolute_url(pack_path),
    )  # fmt: skip


def topic_message(kind: str, topic: Topic, *, reason: str = "", who: User | None = None) -> Message:
    url = absolute_url(reverse("topics:detail", args=[topic.pk]))
    if kind == K.TOPIC_ACCEPTED:
        return Message(
            _("Your topic was accepted: %(title)s") % {"title": topic.title},
            [_("An organiser accepted your topic. Two weeks before the session the forum "
               "promotes it and recruits the participant group.")],
            url,
        )  # fmt: skip
    if kind == K.TOPIC_REJECTED:
        return Message(
            _("Your topic was not accepted: %(title)s") % {"title": topic.title},
            [_("Reason: %(reason)s") % {"reason": reason or "—"}],
            url,
        )
    if kind == K.RECRUITING_OPENED:
        return Message(
            _("Recruiting has started: %(title)s") % {"title": topic.title},
            [_("People can now join the participant group of your topic.")],
            url,
        )
    if kind == K.WANTED_TOPIC_RECRUITING:
        return Message(
            _("A topic you want to hear is recruiting: %(title)s") % {"title": topic.title},
            [_("You said you want to hear it, so you hear first: join its participant group "
               "before the places are taken, or RSVP once its session is scheduled."),
             _("%(count)d of %(capacity)d places are taken.")
             % {"count": topic.participant_count, "capacity": topic.capacity}],
            url,
        )  # fmt: skip
    if kind == K.WAITLIST_PROMOTED:
        return Message(
            _("You are in the group of “%(title)s”") % {"title": topic.title},
            [_("A place came free and you were first on the waitlist: you are now a "
               "participant. Say hello on the group page; if you cannot take part after all, "
               "leave the group there so that the next in line gets the place.")],
            absolute_url(reverse("topics:group", args=[topic.pk])),
        )  # fmt: skip
    if kind == K.CO_PRESENTER_INVITED:
        return Message(
            _("%(name)s invites you to present “%(title)s”")
            % {"name": who.name, "title": topic.title},
            [_("You are not listed as a presenter until you accept. Accept or decline on "
               "the topic page.")],
            url,
        )  # fmt: skip
    if kind == K.GROUP_JOINED:
        return Message(
            _("%(name)s joined the group of “%(title)s”")
            % {"name": who.name, "title": topic.title},
            [_("%(count)d of %(capacity)d places are taken.")
             % {"count": topic.participant_count, "capacity": topic.capacity}],
            absolute_url(reverse("topics:group", args=[topic.pk])),
        )  # fmt: skip
    if kind == K.TOPIC_CANCELLED:
        return Message(
            _("Cancelled: %(title)s") % {"title": topic.title},
            [
                _("%(name)s cancelled “%(title)s”: it will not be presented, and its participant "
                  "group is closed.") % {"name": who.name if who else "—", "title": topic.title},
                _("Reason: %(reason)s") % {"reason": reason or "—"},
            ],
            url,
        )  # fmt: skip
    raise ValueError(kind)


def topic_cancel_recipients(topic: Topic, *, by: User | None):
    """Who hears that a topic not yet on the calendar is cancelled: its presenters and its
    participant group, but not whoever cancelled it. (A scheduled topic's people hear of it
    through its session's cancellation notice instead.)"""
    presenters = people().filter(
        Q(pk=topic.proposer_id) | Q(pk__in=topic.co_presenters.values("pk"))
    )
    recipients = (presenters | participants_of(topic)).distinct()
    return recipients.exclude(pk=by.pk) if by else recipients


# --- Event notices (called by the services, inside their transaction) -----------------------


def topic_webhook_data(topic: Topic) -> dict:
    """What integrations are told about a topic: public fields only."""
    from django.urls import reverse

    from topicshare.core.links import absolute_url

    return {
        "id": topic.pk,
        "title": topic.title,
        "url": absolute_url(reverse("topics:detail", args=[topic.pk])),
        "track": topic.track.slug,
    }


def notify_topic_transition(*, topic: Topic, transition) -> None:
    if transition.to_status == TopicStatus.ACCEPTED and not topic.members_only:
        from topicshare.notifications.outgoing import webhook_event_emit

        webhook_event_emit(
            event_type="topic.accepted",
            data=topic_webhook_data(topic),
            key=f"topic.accepted:{topic.pk}:{transition.pk}",
        )
    kind = {
        TopicStatus.ACCEPTED: K.TOPIC_ACCEPTED,
        TopicStatus.REJECTED: K.TOPIC_REJECTED,
        TopicStatus.RECRUITING: K.RECRUITING_OPENED,
    }.get(transition.to_status)
    recipients = [topic.proposer, *topic.co_presenters.all()]
    if (
        transition.to_status == TopicStatus.CANCELLED
        and transition.from_status != TopicStatus.SCHEDULED
    ):
        kind = K.TOPIC_CANCELLED
        recipients = topic_cancel_recipients(topic, by=transition.by)
    if kind is None:
        return
    notification_enqueue(
        kind=kind,
        subject=topic,
        occasion=str(transition.pk),
        recipients=recipients,
        render=lambda: topic_message(kind, topic, reason=transition.reason, who=transition.by),
        due_at=transition.at,
    )
    if kind == K.RECRUITING_OPENED:
        # Those who want to hear it are told first, before the promotion reaches everyone.
        wanted = K.WANTED_TOPIC_RECRUITING
        notification_enqueue(
            kind=wanted,
            subject=topic,
            occasion=str(transition.pk),
            recipients=interested_in(topic).exclude(pk__in=[p.pk for p in recipients]),
            render=lambda: topic_message(wanted, topic),
            due_at=transition.at,
        )


def notify_group_joined(*, participation: Participation) -> None:
    topic = participation.topic
    notification_enqueue(
        kind=K.GROUP_JOINED,
        subject=topic,
        occasion=str(participation.pk),
        recipients=[topic.proposer, *topic.co_presenters.all()],
        render=lambda: topic_message(K.GROUP_JOINED, topic, who=participation.user),
        due_at=timezone.now(),
    )


def notify_waitlist_promoted(*, participation: Participation) -> None:
    topic = participation.topic
    notification_enqueue(
        kind=K.WAITLIST_PROMOTED,
        subject=topic,
        occasion=str(participation.pk),
        recipients=[participation.user],
        render=lambda: topic_message(K.WAITLIST_PROMOTED, topic),
        due_at=timezone.now(),
    )


def notify_co_presenter_invited(*, invitation) -> None:
    """The invitee hears of it at once (they are listed only after accepting)."""
    topic = invitation.topic
    notification_enqueue(
        kind=K.CO_PRESENTER_INVITED,
        subject=topic,
        occasion=f"invitation-{invitation.pk}",
        recipients=[invitation.invitee],
        render=lambda: topic_message(K.CO_PRESENTER_INVITED, topic, who=invitation.invited_by),
        due_at=timezone.now(),
    )

"""What the topics tell the apps above them (weekly sessions, the library …); topics import
none of them."""

from django.dispatch import Signal

# A scheduled topic is leaving "scheduled" (cancelled, presented …): sent inside the transition's
# transaction, before the step is recorded, with topic, to, by, reason and now. The weekly
# sessions move the topic's session along (sessions.weekly.scheduling.session_follow_topic); an
# exception a receiver raises stops the transition.
scheduled_topic_moving = Signal()

# An accepted topic started recruiting because its week is two weeks away
# (topics_open_recruiting), with topic, slot (its week's slot) and now: the weekly sessions
# queue the promotion.
recruiting_opened = Signal()

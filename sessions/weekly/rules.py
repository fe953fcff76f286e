"""Who may do what with topics, groups and tasks. Used by services, views, templates and admin."""

import rules

from members.rules import is_audience, is_organiser
from sessions.weekly.models import SessionStatus

# A session is promoted (its promotion pack and poster) until it is over.
PROMOTED = (SessionStatus.SCHEDULED, SessionStatus.LIVE)

rules.add_perm("topic_sessions.schedule_sessions", is_organiser)
rules.add_perm("topic_sessions.view_meeting", is_audience)
rules.add_perm("topic_sessions.rsvp", is_audience)

"""django-rules loads each app's rules.py: the sessions app's live in its two homes."""

from sessions.topics import rules as topic_rules  # noqa: F401
from sessions.weekly import rules as session_rules  # noqa: F401

"""The admin of the sessions app, from its two homes (the topics' first: the weekly sessions'
admin extends the topic admin with scheduling)."""

from sessions.topics import admin as topic_admin  # noqa: F401
from sessions.weekly import admin as session_admin  # noqa: F401

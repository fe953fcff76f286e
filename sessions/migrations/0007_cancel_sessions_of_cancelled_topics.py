"""Before topic and session changed together, a proposer who cancelled a scheduled topic left
its session scheduled: the slot stayed taken, calendars said CONFIRMED, reminders were queued.
Cancel those sessions now, as session_cancel would have (without telling anyone again)."""

from django.db import migrations
from django.db.models import F

REMINDER_KINDS = ["promotion", "recruitment_check", "day_before", "at_start", "after"]


def cancel_sessions_of_cancelled_topics(apps, schema_editor):
    WeeklySession = apps.get_model("topic_sessions", "WeeklySession")
    SessionPresenter = apps.get_model("topic_sessions", "SessionPresenter")
    SessionChange = apps.get_model("topic_sessions", "SessionChange")
    Notification = apps.get_model("topicshare", "Notification")
    ContentType = apps.get_model("contenttypes", "ContentType")
    stale = list(
        WeeklySession.objects.filter(
            status__in=["scheduled", "live"], topic__status="cancelled"
        ).select_related("topic")
    )
    for session in stale:
        reason = session.topic.reason or "The topic was cancelled."
        WeeklySession.objects.filter(pk=session.pk).update(
            status="cancelled", cancel_reason=reason, sequence=F("sequence") + 1
        )
        SessionChange.objects.create(
            session=session, kind="cancelled", from_start=session.start, reason=reason
        )
    ids = [session.pk for session in stale]
    SessionPresenter.objects.filter(session_id__in=ids).update(active=False)
    session_type = ContentType.objects.filter(
        app_label="topic_sessions", model="weeklysession"
    ).first()
    if session_type is not None:
        Notification.objects.filter(
            subject_type=session_type,
            subject_id__in=ids,
            kind__in=REMINDER_KINDS,
            status="pending",
        ).update(status="cancelled")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("topic_sessions", "0006_plausible_preferred_week"),
        ("topicshare", "0006_content_version"),
    ]

    operations = [
        migrations.RunPython(cancel_sessions_of_cancelled_topics, migrations.RunPython.noop)
    ]

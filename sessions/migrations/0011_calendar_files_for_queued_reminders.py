"""Reminders queued before messages carried their attachments asked the outbox to build the
session's calendar file at sending time (attach_ics). Build it now for those still unsent, so
that none goes out without it."""

from django.db import migrations

UNSENT = ["pending", "sending", "failed"]


def attach_calendar_files(apps, schema_editor):
    Notification = apps.get_model("notifications", "Notification")
    ContentType = apps.get_model("contenttypes", "ContentType")
    session_type = ContentType.objects.filter(app_label="topic_sessions", model="weeklysession")
    waiting = Notification.objects.filter(
        attach_ics=True, status__in=UNSENT, subject_type__in=session_type
    )
    session_ids = set(waiting.values_list("subject_id", flat=True))
    if not session_ids:
        return
    # The calendar is built by today's code from today's rows (a one-off, at upgrade time).
    from django.db.models import Prefetch

    from members.models import User
    from sessions.models import Topic, Track, WeeklySession
    from sessions.weekly.reminders import session_calendar_attachment

    # Today's models may have columns that later migrations add: those are not read.
    connection = schema_editor.connection
    with connection.cursor() as cursor:

        def missing(model, prefix=""):
            table = model._meta.db_table
            present = {
                c.name for c in connection.introspection.get_table_description(cursor, table)
            }
            return [prefix + f.name for f in model._meta.concrete_fields if f.column not in present]

        not_yet = [
            *missing(WeeklySession), *missing(Track, "track__"), *missing(Topic, "topic__"),
            *missing(User, "topic__proposer__"),
        ]  # fmt: skip
        people = User.objects.defer(*missing(User))
    sessions = (
        WeeklySession.objects.filter(pk__in=session_ids)
        .select_related("topic", "track", "topic__proposer")
        .prefetch_related(Prefetch("topic__co_presenters", queryset=people))
        .defer(*not_yet)
    )
    for session in sessions:
        attachment = session_calendar_attachment(session).as_json()
        waiting.filter(subject_id=session.pk).update(attachments=[attachment])


def ask_for_calendar_files_again(apps, schema_editor):
    """Backwards: the attachments go (notifications 0002 reversed), so the old outbox must
    build the calendar file again for the unsent session rows that carry one."""
    Notification = apps.get_model("notifications", "Notification")
    ContentType = apps.get_model("contenttypes", "ContentType")
    session_type = ContentType.objects.filter(app_label="topic_sessions", model="weeklysession")
    waiting = Notification.objects.filter(status__in=UNSENT, subject_type__in=session_type)
    with_calendar = [
        pk
        for pk, attachments in waiting.values_list("pk", "attachments")
        if any(
            str(attachment.get("mimetype", "")).startswith("text/calendar")
            for attachment in attachments or []
        )
    ]
    if with_calendar:
        Notification.objects.filter(pk__in=with_calendar).update(attach_ics=True)


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("notifications", "0002_notification_attachments"),
        ("topic_sessions", "0010_reminder_rules_from_topicshare"),
    ]

    operations = [
        migrations.RunPython(attach_calendar_files, ask_for_calendar_files_again),
    ]

"""attach_ics is gone: the rows still waiting to be sent got their calendar file from the
sessions app first (topic_sessions 0011)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0002_notification_attachments"),
        ("topic_sessions", "0011_calendar_files_for_queued_reminders"),
    ]

    operations = [
        migrations.RemoveField(model_name="notification", name="attach_ics"),
    ]

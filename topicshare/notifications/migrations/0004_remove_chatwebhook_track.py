"""A chat no longer points at a track: the track lists its chats (topic_sessions 0012 copied
them), so the outbox holds no reference to the domain."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0003_remove_notification_attach_ics"),
        ("topic_sessions", "0012_track_chat_webhooks"),
    ]

    operations = [
        migrations.RemoveField(model_name="chatwebhook", name="track"),
    ]

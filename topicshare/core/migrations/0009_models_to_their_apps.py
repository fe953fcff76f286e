"""The outbox, the forum settings and the reminder rules left for their own apps (tables kept)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('topic_sessions', '0010_reminder_rules_from_topicshare'),
        ('forum', '0001_initial'),
        ('notifications', '0001_initial'),
        ('topicshare', '0008_co_presenter_invited_kind'),
    ]

    operations = [
        # The tables stay where they are: only Django's idea of which app owns them changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='chatwebhook',
                    name='track',
                ),
                migrations.RemoveField(
                    model_name='notification',
                    name='channel',
                ),
                migrations.DeleteModel(
                    name='ForumSettings',
                ),
                migrations.RemoveField(
                    model_name='notification',
                    name='recipient',
                ),
                migrations.RemoveField(
                    model_name='notification',
                    name='subject_type',
                ),
                migrations.RemoveField(
                    model_name='notificationoptout',
                    name='user',
                ),
                migrations.RemoveField(
                    model_name='remindermark',
                    name='subject_type',
                ),
                migrations.DeleteModel(
                    name='ReminderRule',
                ),
                migrations.DeleteModel(
                    name='ChatWebhook',
                ),
                migrations.DeleteModel(
                    name='Notification',
                ),
                migrations.DeleteModel(
                    name='NotificationOptOut',
                ),
                migrations.DeleteModel(
                    name='ReminderMark',
                ),
            ],
            database_operations=[],
        ),
    ]

"""The outbox's models, moved here from the topicshare app with their tables."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from topicshare.core.migration_operations import content_types_move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('topicshare', '0008_co_presenter_invited_kind'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('topic_sessions', '0009_text_limits_and_summary_html'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables stay where they are: only Django's idea of which app owns them changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ChatWebhook',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('name', models.CharField(max_length=80, verbose_name='name')),
                        ('provider', models.CharField(choices=[('feishu', 'Feishu / Lark custom bot'), ('wecom', 'WeCom (企业微信) group bot'), ('dingtalk', 'DingTalk group bot'), ('generic', 'Generic JSON POST')], max_length=12, verbose_name='provider')),
                        ('url', models.URLField(max_length=500, verbose_name='webhook address')),
                        ('secret', models.CharField(blank=True, help_text='Feishu and DingTalk sign requests with it; generic webhooks get an HMAC.', max_length=200, verbose_name='signing secret')),
                        ('audience', models.CharField(choices=[('study', 'Study group (members)'), ('audience', 'Audience group (everyone)')], default='study', max_length=10, verbose_name='which group')),
                        ('enabled', models.BooleanField(default=True, verbose_name='enabled')),
                        ('track', models.ForeignKey(blank=True, help_text='Empty: forum-wide.', null=True, on_delete=django.db.models.deletion.CASCADE, to='topic_sessions.track', verbose_name='track')),
                    ],
                    options={
                        'verbose_name': 'chat webhook',
                        'verbose_name_plural': 'chat webhooks',
                        'db_table': 'topicshare_chatwebhook',
                        'ordering': ['name'],
                    },
                ),
                migrations.CreateModel(
                    name='Notification',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('promotion', 'Promotion (two weeks ahead)'), ('recruitment_check', 'Recruitment check'), ('day_before', 'Reminder the day before'), ('at_start', 'Starting now'), ('after', 'Materials after the session'), ('topic_accepted', 'Topic accepted'), ('topic_rejected', 'Topic rejected'), ('recruiting_opened', 'Recruiting opened'), ('group_joined', 'Someone joined my group'), ('co_presenter_invited', 'Invited to present a topic'), ('session_scheduled', 'Session scheduled'), ('session_slipped', 'Session moved'), ('session_cancelled', 'Session cancelled'), ('application_received', 'New membership application'), ('review_scheduled', 'Review talk scheduled'), ('admission_decided', 'Admission decision'), ('membership_ended', 'Back to the audience after a season')], max_length=30, verbose_name='kind')),
                        ('subject_id', models.PositiveBigIntegerField()),
                        ('occasion', models.CharField(blank=True, max_length=64, verbose_name='occasion')),
                        ('language', models.CharField(default='zh-hans', max_length=10, verbose_name='language')),
                        ('title', models.CharField(max_length=300, verbose_name='subject line')),
                        ('body_text', models.TextField(verbose_name='text')),
                        ('body_html', models.TextField(blank=True, verbose_name='HTML')),
                        ('url', models.CharField(blank=True, max_length=500, verbose_name='link')),
                        ('attach_ics', models.BooleanField(default=False, verbose_name='attach calendar event')),
                        ('status', models.CharField(choices=[('pending', 'Pending'), ('sending', 'Sending'), ('sent', 'Sent'), ('failed', 'Failed'), ('cancelled', 'Cancelled')], default='pending', max_length=10, verbose_name='status')),
                        ('attempts', models.PositiveSmallIntegerField(default=0, verbose_name='attempts')),
                        ('last_error', models.TextField(blank=True, verbose_name='last error')),
                        ('due_at', models.DateTimeField(verbose_name='due')),
                        ('next_attempt_at', models.DateTimeField(db_index=True, verbose_name='next attempt')),
                        ('claimed_at', models.DateTimeField(blank=True, null=True, verbose_name='claimed')),
                        ('sent_at', models.DateTimeField(blank=True, null=True, verbose_name='sent')),
                        ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created')),
                        ('channel', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to='notifications.chatwebhook', verbose_name='chat webhook')),
                        ('recipient', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='notifications', to=settings.AUTH_USER_MODEL, verbose_name='recipient')),
                        ('subject_type', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='contenttypes.contenttype')),
                    ],
                    options={
                        'verbose_name': 'notification',
                        'verbose_name_plural': 'notifications',
                        'db_table': 'topicshare_notification',
                        'ordering': ['-created_at', '-id'],
                        'indexes': [models.Index(fields=['status', 'next_attempt_at'], name='topicshare__status_cc85d3_idx'), models.Index(fields=['subject_type', 'subject_id'], name='topicshare__subject_e24862_idx')],
                        'constraints': [models.CheckConstraint(condition=models.Q(models.Q(('channel__isnull', True), ('recipient__isnull', False)), models.Q(('channel__isnull', False), ('recipient__isnull', True)), _connector='OR'), name='notification_has_one_destination'), models.UniqueConstraint(condition=models.Q(('recipient__isnull', False)), fields=('kind', 'subject_type', 'subject_id', 'occasion', 'recipient'), name='one_notification_per_recipient'), models.UniqueConstraint(condition=models.Q(('channel__isnull', False)), fields=('kind', 'subject_type', 'subject_id', 'occasion', 'channel'), name='one_notification_per_channel')],
                    },
                ),
                migrations.CreateModel(
                    name='NotificationOptOut',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('promotion', 'Promotion (two weeks ahead)'), ('recruitment_check', 'Recruitment check'), ('day_before', 'Reminder the day before'), ('at_start', 'Starting now'), ('after', 'Materials after the session'), ('topic_accepted', 'Topic accepted'), ('topic_rejected', 'Topic rejected'), ('recruiting_opened', 'Recruiting opened'), ('group_joined', 'Someone joined my group'), ('co_presenter_invited', 'Invited to present a topic'), ('session_scheduled', 'Session scheduled'), ('session_slipped', 'Session moved'), ('session_cancelled', 'Session cancelled'), ('application_received', 'New membership application'), ('review_scheduled', 'Review talk scheduled'), ('admission_decided', 'Admission decision'), ('membership_ended', 'Back to the audience after a season')], max_length=30, verbose_name='kind')),
                        ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created')),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='notification_opt_outs', to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        'verbose_name': 'notification opt-out',
                        'verbose_name_plural': 'notification opt-outs',
                        'db_table': 'topicshare_notificationoptout',
                        'constraints': [models.UniqueConstraint(fields=('user', 'kind'), name='one_opt_out_per_kind')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            content_types_move('topicshare', 'notifications', ['chatwebhook', 'notification', 'notificationoptout']),
            content_types_move('notifications', 'topicshare', ['chatwebhook', 'notification', 'notificationoptout']),
        ),
    ]

"""Reminder rules and marks (session concepts), moved here from the topicshare app."""

import django.db.models.deletion
from django.db import migrations, models

from topicshare.core.migration_operations import content_types_move


class Migration(migrations.Migration):

    dependencies = [
        ('topicshare', '0008_co_presenter_invited_kind'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('topic_sessions', '0009_text_limits_and_summary_html'),
    ]

    operations = [
        # The tables stay where they are: only Django's idea of which app owns them changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ReminderRule',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('promotion', 'Promotion (two weeks ahead)'), ('recruitment_check', 'Recruitment check'), ('day_before', 'Reminder the day before'), ('at_start', 'Starting now'), ('after', 'Materials after the session')], max_length=30, unique=True, verbose_name='reminder')),
                        ('offset', models.DurationField(help_text='Negative: before the session starts, e.g. -14 days. Format: “-14 00:00:00”.', verbose_name='offset from the start')),
                        ('stale_after', models.DurationField(help_text='A session scheduled late still gets this reminder if its moment passed less than this long ago.', verbose_name='still worth sending for')),
                        ('enabled', models.BooleanField(default=True, verbose_name='enabled')),
                        ('to_presenters', models.BooleanField(default=False, verbose_name='presenters')),
                        ('to_participants', models.BooleanField(default=False, verbose_name='participant group')),
                        ('to_rsvps', models.BooleanField(default=False, verbose_name="people who RSVP'd")),
                        ('to_members', models.BooleanField(default=False, verbose_name='all members')),
                        ('to_track_followers', models.BooleanField(default=False, verbose_name='audience following the track')),
                        ('to_organisers', models.BooleanField(default=False, verbose_name='organisers')),
                        ('by_email', models.BooleanField(default=True, verbose_name='by e-mail')),
                        ('chat_audience', models.CharField(blank=True, choices=[('study', 'Study group (members)'), ('audience', 'Audience group (everyone)')], help_text="Also post to this group's chat webhooks. Empty: no chat.", max_length=10, verbose_name='chat group')),
                        ('minimum_group', models.PositiveSmallIntegerField(default=2, help_text='Recruitment check only: sent when the group has fewer participants.', verbose_name='minimum group size')),
                    ],
                    options={
                        'verbose_name': 'reminder rule',
                        'verbose_name_plural': 'reminder rules',
                        'db_table': 'topicshare_reminderrule',
                        'ordering': ['offset'],
                    },
                ),
                migrations.CreateModel(
                    name='ReminderMark',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('kind', models.CharField(choices=[('promotion', 'Promotion (two weeks ahead)'), ('recruitment_check', 'Recruitment check'), ('day_before', 'Reminder the day before'), ('at_start', 'Starting now'), ('after', 'Materials after the session'), ('topic_accepted', 'Topic accepted'), ('topic_rejected', 'Topic rejected'), ('recruiting_opened', 'Recruiting opened'), ('group_joined', 'Someone joined my group'), ('co_presenter_invited', 'Invited to present a topic'), ('session_scheduled', 'Session scheduled'), ('session_slipped', 'Session moved'), ('session_cancelled', 'Session cancelled'), ('application_received', 'New membership application'), ('review_scheduled', 'Review talk scheduled'), ('admission_decided', 'Admission decision'), ('membership_ended', 'Back to the audience after a season')], max_length=30)),
                        ('subject_id', models.PositiveBigIntegerField()),
                        ('occasion', models.CharField(max_length=64)),
                        ('created_at', models.DateTimeField(auto_now_add=True)),
                        ('subject_type', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='contenttypes.contenttype')),
                    ],
                    options={
                        'verbose_name': 'materialised reminder',
                        'verbose_name_plural': 'materialised reminders',
                        'db_table': 'topicshare_remindermark',
                        'constraints': [models.UniqueConstraint(fields=('kind', 'subject_type', 'subject_id', 'occasion'), name='one_mark_per_occasion')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            content_types_move('topicshare', 'topic_sessions', ['reminderrule', 'remindermark']),
            content_types_move('topic_sessions', 'topicshare', ['reminderrule', 'remindermark']),
        ),
    ]

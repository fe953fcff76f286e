"""The season ledger's models, moved here from the members app with their tables."""

import django.core.validators
import django.db.models.deletion
import topicshare.core.limits
from django.conf import settings
from django.db import migrations, models

from topicshare.core.migration_operations import content_types_move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('members', '0008_text_limits_and_name_characters'),
        ('topic_sessions', '0009_text_limits_and_summary_html'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # The tables stay where they are: only Django's idea of which app owns them changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='LedgerPolicy',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('min_attendance_percent', models.PositiveSmallIntegerField(default=40, help_text="Members who attended fewer of the season's sessions than this are flagged…", validators=[django.core.validators.MaxValueValidator(100)], verbose_name='minimum attendance (%)')),
                        ('presenting_protects', models.BooleanField(default=True, help_text='A member who presented a session in the season is not flagged.', verbose_name='…unless they presented')),
                        ('task_protects', models.BooleanField(default=True, help_text='A member who finished a task of a study group in the season is not flagged.', verbose_name='…or did a task')),
                        ('grace_for_new_members', models.BooleanField(default=True, help_text='Members admitted during the season are not flagged for it.', verbose_name='grace for new members')),
                    ],
                    options={
                        'verbose_name': 'season review policy',
                        'verbose_name_plural': 'season review policy',
                        'db_table': 'members_ledgerpolicy',
                        'constraints': [models.CheckConstraint(condition=models.Q(('id', 1)), name='ledger_policy_singleton'), models.CheckConstraint(condition=models.Q(('min_attendance_percent__lte', 100)), name='ledger_policy_percent_at_most_100')],
                    },
                ),
                migrations.CreateModel(
                    name='LedgerExemption',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('reason', topicshare.core.limits.LimitedTextField(max_length=2000, verbose_name='reason')),
                        ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created')),
                        ('by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='by')),
                        ('season', models.ForeignKey(blank=True, help_text='Empty: every season, until the exemption is removed.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='ledger_exemptions', to='topic_sessions.season', verbose_name='season')),
                        ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='ledger_exemptions', to=settings.AUTH_USER_MODEL, verbose_name='member')),
                    ],
                    options={
                        'verbose_name': 'season review exemption',
                        'verbose_name_plural': 'season review exemptions',
                        'db_table': 'members_ledgerexemption',
                        'ordering': ['-created_at', '-id'],
                        'constraints': [models.UniqueConstraint(fields=('user', 'season'), name='one_exemption_per_member_and_season', violation_error_message='This member is already exempted for this season.'), models.UniqueConstraint(condition=models.Q(('season__isnull', True)), fields=('user',), name='one_standing_exemption_per_member', violation_error_message='This member is already exempted for every season.')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            content_types_move('members', 'ledger', ['ledgerpolicy', 'ledgerexemption']),
            content_types_move('ledger', 'members', ['ledgerpolicy', 'ledgerexemption']),
        ),
    ]

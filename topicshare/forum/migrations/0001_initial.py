"""The forum's settings, moved here from the topicshare app with their table."""

import topicshare.core.limits
import topicshare.core.validators
from django.db import migrations, models

from topicshare.core.migration_operations import content_types_move


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('contenttypes', '0002_remove_content_type_name'),
        ('topicshare', '0008_co_presenter_invited_kind'),
    ]

    operations = [
        # The tables stay where they are: only Django's idea of which app owns them changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ForumSettings',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('forum_name', models.CharField(default='TopicShare', max_length=80, validators=[topicshare.core.validators.validate_name_characters], verbose_name='forum name')),
                        ('slogan', models.CharField(blank=True, default='一起读论文，每周六 20:30 见', max_length=200, validators=[topicshare.core.validators.validate_name_characters], verbose_name='slogan')),
                        ('join_instructions', topicshare.core.limits.LimitedTextField(blank=True, help_text='Shown on the home page and the Join page: how newcomers get in.', max_length=5000, verbose_name='join instructions')),
                        ('official_account_qr', models.ImageField(blank=True, upload_to='forum/', validators=[topicshare.core.validators.validate_image_size], verbose_name='official-account QR code')),
                        ('updated_at', models.DateTimeField(auto_now=True, verbose_name='updated')),
                    ],
                    options={
                        'verbose_name': 'forum settings',
                        'verbose_name_plural': 'forum settings',
                        'db_table': 'topicshare_forumsettings',
                        'constraints': [models.CheckConstraint(condition=models.Q(('id', 1)), name='forum_settings_singleton')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(
            content_types_move('topicshare', 'forum', ['forumsettings']),
            content_types_move('forum', 'topicshare', ['forumsettings']),
        ),
    ]

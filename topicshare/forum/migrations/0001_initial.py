"""The forum's settings, moved here from the topicshare app with their table."""

import topicshare.core.limits
import topicshare.core.validators
from django.db import migrations, models


def move_content_types(old_label, new_label, models):
    """Content types (and so the permissions attached to them) follow the models: renamed, not
    orphaned. A content type the new label already has (nothing should) is left alone."""

    def run(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        taken = set(
            ContentType.objects.filter(app_label=new_label, model__in=models).values_list(
                "model", flat=True
            )
        )
        ContentType.objects.filter(app_label=old_label, model__in=models).exclude(
            model__in=taken
        ).update(app_label=new_label)

    return run


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
            move_content_types('topicshare', 'forum', ['forumsettings']),
            move_content_types('forum', 'topicshare', ['forumsettings']),
        ),
    ]

import django.core.validators
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0001_initial'),
        ('topic_sessions', '0016_remindermark_promotion_pack'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='ledgerpolicy',
            name='min_minutes_in_meeting',
            field=models.PositiveSmallIntegerField(default=30, help_text="When a meeting's participant list is imported, a person counts as attending from this many minutes in the meeting (all their rows added up).", validators=[django.core.validators.MaxValueValidator(600)], verbose_name='minimum time in the meeting (minutes)'),
        ),
        migrations.CreateModel(
            name='AttendanceImport',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('token', models.CharField(editable=False, max_length=43, unique=True)),
                ('sha256', models.CharField(editable=False, max_length=64)),
                ('file_name', models.CharField(max_length=200, verbose_name='file name')),
                ('kind', models.CharField(editable=False, max_length=4)),
                ('table', models.JSONField(editable=False)),
                ('header_row', models.PositiveSmallIntegerField(blank=True, null=True)),
                ('columns', models.JSONField(blank=True, default=dict)),
                ('picks', models.JSONField(blank=True, default=dict)),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='uploaded')),
                ('confirmed_at', models.DateTimeField(blank=True, null=True, verbose_name='confirmed')),
                ('added', models.PositiveIntegerField(default=0, verbose_name='attendances added')),
                ('session', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='attendance_imports', to='topic_sessions.weeklysession', verbose_name='session')),
                ('uploaded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='uploaded by')),
            ],
            options={
                'verbose_name': 'attendance import',
                'verbose_name_plural': 'attendance imports',
                'ordering': ['-created_at', '-id'],
                'constraints': [models.UniqueConstraint(fields=('session', 'sha256'), name='one_import_per_file')],
            },
        ),
    ]

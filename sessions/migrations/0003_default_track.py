import datetime

from django.db import migrations


def create_default_track(apps, schema_editor):
    Track = apps.get_model("topic_sessions", "Track")
    if not Track.objects.exists():
        Track.objects.create(
            slug="general",
            name_zh="综合",
            name_en="General",
            colour="#475569",
            weekday=5,  # Saturday
            local_time=datetime.time(20, 30),
            time_zone="Asia/Shanghai",
            duration_minutes=90,
            order=99,
        )


class Migration(migrations.Migration):
    dependencies = [("topic_sessions", "0002_topic_sheet")]

    operations = [migrations.RunPython(create_default_track, migrations.RunPython.noop)]

import datetime

from django.db import migrations

D = datetime.timedelta
RULES = [
    # kind, offset, stale_after, recipients, chat
    ("promotion", D(days=-14), D(days=13), {"to_members": True, "to_track_followers": True},
     "study"),
    ("recruitment_check", D(days=-7), D(days=6), {"to_presenters": True, "to_organisers": True},
     ""),
    ("day_before", D(days=-1), D(hours=23),
     {"to_presenters": True, "to_participants": True, "to_rsvps": True}, ""),
    ("at_start", D(minutes=-15), D(minutes=105), {"to_rsvps": True}, "audience"),
    ("after", D(days=2), D(days=7), {"to_presenters": True}, ""),
]  # fmt: skip


def create_rules(apps, schema_editor):
    ReminderRule = apps.get_model("topicshare", "ReminderRule")
    for kind, offset, stale_after, recipients, chat in RULES:
        ReminderRule.objects.get_or_create(
            kind=kind,
            defaults={"offset": offset, "stale_after": stale_after, "chat_audience": chat,
                      **recipients},
        )  # fmt: skip


class Migration(migrations.Migration):
    dependencies = [("topicshare", "0002_outbox")]

    operations = [migrations.RunPython(create_rules, migrations.RunPython.noop)]

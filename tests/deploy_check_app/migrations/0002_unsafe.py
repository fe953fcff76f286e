"""Everything a deploy must not do while the previous version still serves."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("deploy_check_app", "0001_initial")]
    operations = [
        # The running version still reads `note`.
        migrations.RemoveField(model_name="thing", name="note"),
        # NOT NULL, and the running version's INSERTs do not fill it in (no database default).
        migrations.AddField(
            model_name="thing", name="flag", field=models.BooleanField(default=False)
        ),
        # Blocks writes to the whole table while the index builds.
        migrations.AddIndex(
            model_name="thing", index=models.Index(fields=["name"], name="thing_name_idx")
        ),
    ]

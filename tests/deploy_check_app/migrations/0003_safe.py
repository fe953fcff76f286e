"""What a deploy may do: nullable columns, or NOT NULL ones with a database default."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("deploy_check_app", "0002_unsafe")]
    operations = [
        migrations.AddField(
            model_name="thing",
            name="colour",
            field=models.CharField(blank=True, db_default="", max_length=20),
        ),
        migrations.AddField(
            model_name="thing",
            name="visits",
            field=models.IntegerField(null=True),
        ),
    ]

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('topic_sessions', '0016_remindermark_promotion_pack'),
    ]

    operations = [
        migrations.AlterField(
            model_name='attendance',
            name='how',
            field=models.CharField(choices=[('self', 'Self check-in'), ('organiser', 'Recorded by an organiser'), ('import', "Imported from the meeting's export")], max_length=12, verbose_name='how'),
        ),
    ]

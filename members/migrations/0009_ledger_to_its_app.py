"""The season ledger's models left for the ledger app (tables kept)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0001_initial'),
        ('members', '0008_text_limits_and_name_characters'),
    ]

    operations = [
        # The tables stay where they are: only Django's idea of which app owns them changes.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name='ledgerexemption',
                    name='by',
                ),
                migrations.RemoveField(
                    model_name='ledgerexemption',
                    name='season',
                ),
                migrations.RemoveField(
                    model_name='ledgerexemption',
                    name='user',
                ),
                migrations.DeleteModel(
                    name='LedgerPolicy',
                ),
                migrations.DeleteModel(
                    name='LedgerExemption',
                ),
            ],
            database_operations=[],
        ),
    ]

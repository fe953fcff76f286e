from django.db import migrations

CREATE = """
CREATE INDEX IF NOT EXISTS library_item_search_gin ON library_libraryitem
USING GIN (to_tsvector('simple'::regconfig, COALESCE(search_text, ''::text)))
"""
DROP = "DROP INDEX IF EXISTS library_item_search_gin"


def create_index(apps, schema_editor):
    # PostgreSQL only: SQLite searches the token column with LIKE (library/search.py).
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("library", "0001_library")]

    operations = [migrations.RunPython(create_index, drop_index)]

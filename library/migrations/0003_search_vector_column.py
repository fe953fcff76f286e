from django.db import migrations

# PostgreSQL only: a stored tsvector column generated from the token column, with a GIN index.
# Matching and ranking read the stored vector instead of recomputing it for every row.
FORWARD = [
    "DROP INDEX IF EXISTS library_item_search_gin",
    """ALTER TABLE library_libraryitem ADD COLUMN IF NOT EXISTS search_vector tsvector
       GENERATED ALWAYS AS (to_tsvector('simple'::regconfig, COALESCE(search_text, ''))) STORED""",
    """CREATE INDEX IF NOT EXISTS library_item_search_vector_gin ON library_libraryitem
       USING GIN (search_vector)""",
]
BACKWARD = [
    "DROP INDEX IF EXISTS library_item_search_vector_gin",
    "ALTER TABLE library_libraryitem DROP COLUMN IF EXISTS search_vector",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("library", "0002_search_index")]

    operations = [migrations.RunPython(forward, backward)]

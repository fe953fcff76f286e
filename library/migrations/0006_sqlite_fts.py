from django.db import migrations

# SQLite only (PostgreSQL has its tsvector column, 0003): an FTS5 index over the token column,
# kept in step with the table by triggers. The tokens are already words and CJK uni-/bigrams
# separated by spaces; unicode61 keeps each one whole.
#
# Django rebuilds a SQLite table for some schema changes, which drops its triggers: a later
# migration that alters library_libraryitem must run FORWARD again (the statements are
# idempotent); tests/library/test_library.py checks that the triggers exist.
FORWARD = [
    """CREATE VIRTUAL TABLE IF NOT EXISTS library_item_fts USING fts5(
        search_text, content='library_libraryitem', content_rowid='id',
        tokenize='unicode61 remove_diacritics 0')""",
    """CREATE TRIGGER IF NOT EXISTS library_item_fts_insert AFTER INSERT ON library_libraryitem
       BEGIN
         INSERT INTO library_item_fts(rowid, search_text) VALUES (new.id, new.search_text);
       END""",
    """CREATE TRIGGER IF NOT EXISTS library_item_fts_delete AFTER DELETE ON library_libraryitem
       BEGIN
         INSERT INTO library_item_fts(library_item_fts, rowid, search_text)
         VALUES ('delete', old.id, old.search_text);
       END""",
    """CREATE TRIGGER IF NOT EXISTS library_item_fts_update
       AFTER UPDATE OF search_text ON library_libraryitem
       BEGIN
         INSERT INTO library_item_fts(library_item_fts, rowid, search_text)
         VALUES ('delete', old.id, old.search_text);
         INSERT INTO library_item_fts(rowid, search_text) VALUES (new.id, new.search_text);
       END""",
    "INSERT INTO library_item_fts(library_item_fts) VALUES ('rebuild')",
]
BACKWARD = [
    "DROP TRIGGER IF EXISTS library_item_fts_insert",
    "DROP TRIGGER IF EXISTS library_item_fts_delete",
    "DROP TRIGGER IF EXISTS library_item_fts_update",
    "DROP TABLE IF EXISTS library_item_fts",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        for statement in BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("library", "0005_browse_ranks")]

    operations = [migrations.RunPython(forward, backward)]

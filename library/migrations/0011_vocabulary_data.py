from django.db import migrations

# The shipped vocabulary (library/vocabulary.json), so that every install searches with it.
# Later changes to the file reach a database through `manage.py vocabulary_load`.


def forward(apps, schema_editor):
    from library.vocabulary import load_file

    load_file(apps.get_model("library", "Concept"), apps.get_model("library", "Term"))


def backward(apps, schema_editor):
    apps.get_model("library", "Term").objects.all().delete()
    apps.get_model("library", "Concept").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("library", "0010_vocabulary")]

    operations = [migrations.RunPython(forward, backward)]

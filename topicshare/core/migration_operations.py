"""Operations that the migrations of several apps share."""


def content_types_move(old_label: str, new_label: str, models: list[str]):
    """A RunPython function: models that moved from app `old_label` to `new_label` keep their
    content types (and so the permissions and generic relations attached to them), renamed,
    not orphaned. A content type the new label already has (nothing should) is left alone."""

    def run(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        taken = set(
            ContentType.objects.filter(app_label=new_label, model__in=models).values_list(
                "model", flat=True
            )
        )
        ContentType.objects.filter(app_label=old_label, model__in=models).exclude(
            model__in=taken
        ).update(app_label=new_label)

    return run

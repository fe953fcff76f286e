"""Backups that restore (topicshare/core/backups.py): seeded rows of every app and files in
storage, `manage.py backup`, then `manage.py restore` into a fresh database and fresh
storage, compared table by table and file by file. On SQLite by default, on PostgreSQL when
DATABASE_URL says so (pg_dump/pg_restore into a scratch database made for the test)."""

import contextlib
import copy
import datetime
import hashlib
import io
import json
import tarfile
import uuid
from pathlib import Path

import psycopg
import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.management import CommandError, call_command
from django.db import connections
from django.db.utils import load_backend
from django.urls import reverse
from django.utils import timezone
from PIL import Image
from psycopg import sql

from library.models import LibraryItem
from members.roles import Role
from tests.factories import TopicFactory, UserFactory
from tests.s3server import (
    ACCESS_KEY,
    REGION,
    SECRET_KEY,
    object_storages,
    running_s3_server,
    storages_setting,
)
from topicshare.core.backups import (
    archives_in,
    backup_create,
    backup_storages,
    storage_files,
)
from topicshare.core.models import BackupRun
from topicshare.forum.models import ForumSettings

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"% backup\n" * 30_000
MEMORY = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "private": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
}


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, "PNG")
    return buffer.getvalue()


def seed() -> None:
    """Rows across the apps (users and roles, topics and participations, a library item,
    the forum's settings) and files in both storages."""
    UserFactory(role=Role.ORGANISER)
    for _ in range(3):
        TopicFactory(proposer=UserFactory(role=Role.MEMBER))
    item = LibraryItem.objects.create(title="LightGCN, 图卷积")
    item.presenters.set([UserFactory(role=Role.MEMBER)])
    item.slides_file.save("deck.pdf", ContentFile(PDF))
    forum = ForumSettings.load()
    forum.official_account_qr.save("account.png", ContentFile(_png()))
    forum.study_group_qr.save("group.png", ContentFile(_png()))


def table_rows(using: str) -> dict[str, list[tuple]]:
    """Every row of every model's table (many-to-many tables too), in primary-key order."""
    return {
        model._meta.db_table: list(model._base_manager.using(using).order_by("pk").values_list())
        for model in apps.get_models(include_auto_created=True)
    }


def file_checksums() -> dict[tuple[str, str], str]:
    sums = {}
    all_storages = backup_storages()
    for alias, name, _size in storage_files():
        with all_storages[alias].open(name, "rb") as handle:
            sums[alias, name] = hashlib.sha256(handle.read()).hexdigest()
    return sums


@contextlib.contextmanager
def scratch_database(tmp_path: Path):
    """A new, empty database of the suite's vendor as the connection alias it yields."""
    default = connections["default"]
    settings_dict = copy.deepcopy(default.settings_dict)
    alias = f"restore_{uuid.uuid4().hex[:8]}"
    admin = None
    if default.vendor == "sqlite":
        settings_dict["NAME"] = str(tmp_path / f"{alias}.sqlite3")
    else:
        settings_dict["NAME"] = f"{default.settings_dict['NAME']}_{alias}"
        admin = psycopg.connect(
            host=settings_dict["HOST"] or None,
            port=settings_dict["PORT"] or None,
            user=settings_dict["USER"] or None,
            password=settings_dict["PASSWORD"] or None,
            dbname="postgres",
            autocommit=True,
        )
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(settings_dict["NAME"])))
    # Made by hand, not through connections.settings: Django's test case allows a connection
    # it was not told about only when the alias is not configured ("dynamically created").
    connections[alias] = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias)
    try:
        yield alias
    finally:
        connections[alias].close()
        del connections[alias]
        if admin is not None:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(settings_dict["NAME"])
                )
            )
            admin.close()


def tables_of(alias: str) -> list[str]:
    connection = connections[alias]
    with connection.cursor() as cursor:
        return connection.introspection.table_names(cursor)


@pytest.fixture
def backed_up(tmp_path):
    """A seeded site backed up with `manage.py backup`: (archive, rows, files) as they were."""
    with storages_setting(MEMORY):
        seed()
        rows, files = table_rows("default"), file_checksums()
        out = io.StringIO()
        call_command("backup", output=str(tmp_path / "out"), stdout=out)
    (archive,) = archives_in(tmp_path / "out")
    assert f"Backup written and checked: {archive}" in out.getvalue()
    return archive, rows, files


pytestmark = pytest.mark.django_db(transaction=True)


def test_backup_restores_every_row_and_file_into_a_fresh_database_and_storage(backed_up, tmp_path):
    archive, rows, files = backed_up
    assert sum(len(table) for table in rows.values()) > 20
    assert len(files) == 3

    with storages_setting(MEMORY), scratch_database(tmp_path) as target:
        assert tables_of(target) == []
        out = io.StringIO()
        call_command("restore", str(archive), database=target, stdout=out)

        assert table_rows(target) == rows
        assert file_checksums() == files
    assert "3 files" in out.getvalue()


def test_backup_manifest_lists_the_database_and_every_file_with_checksums(backed_up):
    archive, _rows, files = backed_up

    with tarfile.open(archive, "r:gz") as tar:
        manifest = json.load(tar.extractfile("manifest.json"))
        dump = tar.extractfile(manifest["database"]["path"]).read()

    assert manifest["format_version"] == 1
    assert manifest["database"]["vendor"] == connections["default"].vendor
    assert manifest["database"]["sha256"] == hashlib.sha256(dump).hexdigest()
    assert "0012_backup_runs" in manifest["app"]["migrations"]["topicshare"]
    listed = {(entry["storage"], entry["name"]): entry["sha256"] for entry in manifest["files"]}
    assert listed == files
    assert archive.name.startswith("topicshare-backup-") and archive.name.endswith("Z.tar.gz")


def test_backup_records_the_run_and_the_archive_holds_only_earlier_runs(backed_up, tmp_path):
    archive, rows, _files = backed_up

    run = BackupRun.objects.get()
    assert (run.ok, run.file_name, run.size_bytes, run.file_count) == (
        True,
        archive.name,
        archive.stat().st_size,
        3,
    )
    assert rows[BackupRun._meta.db_table] == []


def test_restore_refuses_a_database_with_rows_and_leaves_it_alone(backed_up):
    archive, _rows, _files = backed_up
    before = table_rows("default")

    with storages_setting(MEMORY), pytest.raises(CommandError) as refused:
        call_command("restore", str(archive))

    assert "The target is not empty" in str(refused.value)
    assert "members_user" in str(refused.value)
    assert "--force" in str(refused.value)
    assert table_rows("default") == before


def test_restore_refuses_storage_that_holds_files(backed_up, tmp_path):
    archive, _rows, _files = backed_up

    with storages_setting(MEMORY), scratch_database(tmp_path) as target:
        backup_storages()["private"].save("left/over.pdf", ContentFile(PDF))
        with pytest.raises(CommandError) as refused:
            call_command("restore", str(archive), database=target)
        assert tables_of(target) == []

    assert "the storages hold files (private:left/over.pdf)" in str(refused.value)


def test_restore_with_force_replaces_what_the_target_holds(backed_up, tmp_path):
    archive, rows, files = backed_up

    with storages_setting(MEMORY), scratch_database(tmp_path) as target:
        call_command("restore", str(archive), database=target, stdout=io.StringIO())
        # Change the restored site: a new row, a changed file.
        name = next(name for alias, name in files if alias == "private")
        backup_storages()["private"].delete(name)
        backup_storages()["private"].save(name, ContentFile(b"changed"))
        BackupRun.objects.using(target).create(
            started_at=timezone.now(), finished_at=timezone.now(), ok=True
        )
        with pytest.raises(CommandError):
            call_command("restore", str(archive), database=target)

        out = io.StringIO()
        call_command("restore", str(archive), database=target, force=True, stdout=out)

        assert table_rows(target) == rows
        assert file_checksums() == files
    assert "3 existing files were replaced" in out.getvalue()


def _damaged(archive: Path, tmp_path: Path) -> Path:
    data = bytearray(archive.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 64] = bytes(64)
    damaged = tmp_path / f"damaged-{archive.name}"
    damaged.write_bytes(bytes(data))
    return damaged


def _rewritten(archive: Path, tmp_path: Path, change) -> Path:
    """A copy of the archive whose manifest `change` edited (members copied as they are)."""
    copy_path = tmp_path / f"rewritten-{archive.name}"
    with tarfile.open(archive, "r:gz") as source, tarfile.open(copy_path, "w:gz") as target:
        for info in source.getmembers():
            body = source.extractfile(info).read()
            if info.name == "manifest.json":
                manifest = json.loads(body)
                change(manifest)
                body = json.dumps(manifest).encode()
                info.size = len(body)
            target.addfile(info, io.BytesIO(body))
    return copy_path


@pytest.mark.parametrize("how", ["bytes zeroed", "truncated", "a file's checksum"])
def test_restore_refuses_a_damaged_archive_and_touches_nothing(backed_up, tmp_path, how):
    archive, _rows, _files = backed_up
    if how == "bytes zeroed":
        bad = _damaged(archive, tmp_path)
    elif how == "truncated":
        bad = tmp_path / "truncated.tar.gz"
        bad.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    else:

        def change(manifest):
            manifest["files"][0]["sha256"] = "0" * 64

        bad = _rewritten(archive, tmp_path, change)

    with storages_setting(MEMORY), scratch_database(tmp_path) as target:
        with pytest.raises(CommandError) as refused:
            call_command("restore", str(bad), database=target, force=True)
        assert tables_of(target) == []
        assert file_checksums() == {}

    message = str(refused.value)
    if how == "a file's checksum":
        assert message.endswith("does not match its checksum.")
        assert "is damaged" in message
    else:
        assert "is not a readable backup archive (truncated or damaged)" in message


def test_restore_refuses_a_dump_of_another_database_vendor(backed_up, tmp_path):
    archive, _rows, _files = backed_up
    vendor = connections["default"].vendor
    other = "postgresql" if vendor == "sqlite" else "sqlite"

    def change(manifest):
        manifest["database"]["vendor"] = other

    bad = _rewritten(archive, tmp_path, change)
    with storages_setting(MEMORY), scratch_database(tmp_path) as target:
        with pytest.raises(CommandError) as refused:
            call_command("restore", str(bad), database=target)
        assert tables_of(target) == []

    assert str(refused.value) == (
        f"The archive holds a {other} database; the target is {vendor}. "
        "Restore into a database of the same kind."
    )


def test_restore_check_only_reads_the_archive(backed_up, tmp_path):
    archive, _rows, _files = backed_up
    out = io.StringIO()

    call_command("restore", str(archive), check=True, stdout=out)

    assert out.getvalue().startswith("The archive is whole:")
    with pytest.raises(CommandError, match="truncated or damaged"):
        call_command("restore", str(_damaged(archive, tmp_path)), check=True)


def test_retention_keeps_the_newest_archives_after_a_good_backup(tmp_path):
    directory = tmp_path / "backups"
    with storages_setting(MEMORY):
        made = [backup_create(output_dir=directory, keep=2).path for _ in range(3)]

    assert archives_in(directory) == made[1:]
    assert sorted(path.name for path in directory.iterdir()) == sorted(p.name for p in made[1:])


def test_backup_that_fails_is_recorded_and_deletes_nothing(tmp_path, settings):
    directory = tmp_path / "backups"
    with storages_setting(MEMORY):
        good = backup_create(output_dir=directory).path
        settings.TOPICSHARE_BACKUP_DIR = tmp_path / "a-file"
        settings.TOPICSHARE_BACKUP_DIR.write_text("not a directory")
        with pytest.raises(CommandError) as failed:
            call_command("backup")

    assert str(failed.value).startswith(f"Cannot create the backup directory {tmp_path}")
    assert archives_in(directory) == [good]
    assert list(BackupRun.objects.order_by("pk").values_list("ok", "file_name")) == [
        (True, good.name),
        (False, ""),
    ]


def test_backup_and_restore_with_an_object_store(tmp_path):
    """The public and private files in one bucket (the private ones under a prefix, as
    S3_PRIVATE_PREFIX puts them), restored into two fresh buckets of a real S3 server."""
    with running_s3_server() as server:
        client = server.client()
        shared = f"shared-{uuid.uuid4().hex[:8]}"
        client.create_bucket(Bucket=shared)
        common = {
            "endpoint_url": server.endpoint_url,
            "access_key": ACCESS_KEY,
            "secret_key": SECRET_KEY,
            "region_name": REGION,
            "bucket_name": shared,
            "file_overwrite": False,
        }
        one_bucket = {
            "default": {
                "BACKEND": "topicshare.core.objectstorage.ObjectStorage",
                "OPTIONS": {**common, "querystring_auth": False, "default_acl": "public-read"},
            },
            "staticfiles": MEMORY["staticfiles"],
            "private": {
                "BACKEND": "topicshare.core.objectstorage.ObjectStorage",
                "OPTIONS": {**common, "location": "private", "default_acl": None},
            },
        }
        with storages_setting(one_bucket):
            seed()
            rows, files = table_rows("default"), file_checksums()
            call_command("backup", output=str(tmp_path / "out"), stdout=io.StringIO())
        (archive,) = archives_in(tmp_path / "out")
        assert len(files) == 3
        assert {alias for alias, _name in files} == {"default", "private"}
        assert len(server.keys(shared)) == 3

        with object_storages(server) as (bucket, private_bucket):
            with scratch_database(tmp_path) as target:
                call_command("restore", str(archive), database=target, stdout=io.StringIO())
                assert table_rows(target) == rows
            assert file_checksums() == files
            assert server.keys(private_bucket) == sorted(
                name for alias, name in files if alias == "private"
            )
            assert server.keys(bucket) == sorted(
                name for alias, name in files if alias == "default"
            )


@pytest.mark.django_db
def test_healthz_shows_the_age_of_the_last_good_backup(client):
    now = timezone.now()
    BackupRun.objects.create(
        started_at=now - datetime.timedelta(hours=2, minutes=1),
        finished_at=now - datetime.timedelta(hours=2),
        ok=True,
        file_name="topicshare-backup-x.tar.gz",
    )
    BackupRun.objects.create(started_at=now, finished_at=now, ok=False, error="disk full")

    response = client.get(reverse("healthz"))

    body = response.json()
    assert 7200 <= body["backup_age_seconds"] < 7260
    assert body["backup_stale"] is False
    assert body["backup_stale_after_seconds"] == 36 * 3600


@pytest.mark.django_db
def test_healthz_without_a_backup_says_so_and_stays_ok(client):
    response = client.get(reverse("healthz"))

    assert response.status_code == 200
    body = response.json()
    assert (body["backup_age_seconds"], body["backup_stale"]) == (None, True)


@pytest.mark.django_db
def test_dashboard_warns_when_there_is_no_good_backup(client, organiser):
    client.force_login(organiser)
    client.cookies["django_language"] = "en"

    page = client.get(reverse("dashboard")).content.decode()

    assert 'data-role="backup-age" data-stale="true"' in page
    assert "No good backup yet" in page


@pytest.mark.django_db
def test_dashboard_shows_the_age_of_the_last_good_backup(client, organiser, settings):
    client.force_login(organiser)
    client.cookies["django_language"] = "en"
    now = timezone.now()
    finished = now - datetime.timedelta(hours=5)
    BackupRun.objects.create(
        started_at=finished, finished_at=finished, ok=True, host="node-a", file_name="x"
    )

    fresh = client.get(reverse("dashboard")).content.decode()
    settings.TOPICSHARE_BACKUP_STALE_SECONDS = 3600
    settings.TOPICSHARE_FRAGMENT_CACHE_SECONDS = 0
    stale = client.get(reverse("dashboard")).content.decode()

    assert 'data-stale="false"' in fresh
    assert "Last good backup: 5\xa0hours ago." in fresh
    assert "node-a" in fresh
    assert 'data-stale="true"' in stale
    assert "The last good backup is 5\xa0hours old" in stale


@pytest.mark.django_db
def test_dashboard_backup_age_is_for_organisers_only(client, member):
    client.force_login(member)

    assert client.get(reverse("dashboard")).status_code == 403


@pytest.mark.django_db
def test_storage_files_lists_nested_storages_once_and_skips_the_backup_directory(tmp_path):
    media = tmp_path / "media"
    (media / "private" / "slides").mkdir(parents=True)
    (media / "backups").mkdir()
    (media / "qr.png").write_bytes(b"public")
    (media / "private" / "slides" / "deck.pdf").write_bytes(b"private")
    (media / "backups" / "topicshare-backup-20270101T000000Z.tar.gz").write_bytes(b"old")
    nested = {
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(media)},
        },
        "staticfiles": MEMORY["staticfiles"],
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(media / "private")},
        },
    }

    with storages_setting(nested):
        listed = list(storage_files([media / "backups"]))

    assert listed == [("default", "qr.png", 6), ("private", "slides/deck.pdf", 7)]


def test_nightly_task_backs_up_into_the_backup_directory_and_keeps_the_newest(tmp_path, settings):
    from celery.schedules import crontab

    from topicshare.celery import app
    from topicshare.core.tasks import backup

    settings.TOPICSHARE_BACKUP_DIR = tmp_path / "nightly"
    settings.TOPICSHARE_BACKUP_KEEP = 2
    with storages_setting(MEMORY):
        names = [backup() for _ in range(3)]

    assert [path.name for path in archives_in(tmp_path / "nightly")] == names[1:]
    entry = settings.CELERY_BEAT_SCHEDULE["nightly-backup"]
    assert entry["task"] == backup.name == "topicshare.backup"
    assert entry["task"] in app.tasks
    assert entry["schedule"] == crontab(hour=3, minute=30)

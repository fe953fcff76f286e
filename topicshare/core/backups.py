"""Backups that restore: one archive per run with the database and every uploaded file.

An archive is a gzipped tar named `topicshare-backup-<UTC time>Z.tar.gz` (UTC, so that names
sort by time on every node whatever its zone), holding

- `database/postgresql.dump` (pg_dump's custom format, restored with pg_restore) or
  `database/sqlite3.db` (a copy made with SQLite's online backup API);
- `files/<storage alias>/<name>`: every file of every storage in settings.STORAGES but the
  static files (built from the code, not uploaded), on local disk or in an object store;
- `manifest.json`, last: the format version, when, the code's version and applied
  migrations, the database vendor, and the size and sha256 of every other member.

It is written under a hidden temporary name, read back and checked against its manifest, and
only then renamed to its final name (a rename within one directory is atomic), so a name that
looks like an archive is always a whole, checked one. Files are streamed: nothing is held in
memory whole. A restore checks every checksum before it touches anything, refuses a target
that holds data unless forced, and refuses a dump of another database vendor.

Expected problems raise BackupError with a sentence for the operator; the commands print it
and exit non-zero, without a traceback.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import logging
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from importlib import metadata
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.files.storage import FileSystemStorage, Storage, storages
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from topicshare.core.models import BackupRun

logger = logging.getLogger(__name__)

FORMAT = "topicshare-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ARCHIVE_PREFIX = "topicshare-backup-"
ARCHIVE_SUFFIX = ".tar.gz"
_ARCHIVE_NAME = re.compile(
    rf"^{re.escape(ARCHIVE_PREFIX)}(\d{{8}}T\d{{6}})Z(?:-(\d+))?{re.escape(ARCHIVE_SUFFIX)}$"
)
_PARTIAL_SUFFIX = ".partial"
# Hidden temporary archives of a run that died are swept after this long.
_PARTIAL_MAX_AGE = timedelta(days=1)
_CHUNK = 1024 * 1024
# The manifest is read into memory: bounded, whatever a damaged archive claims.
_MANIFEST_MAX_BYTES = 64 * 1024 * 1024
# Static files are built from the code; every other storage holds uploads.
_NOT_BACKED_UP = frozenset({"staticfiles"})
_DATABASE_MEMBERS = {"postgresql": "database/postgresql.dump", "sqlite": "database/sqlite3.db"}


class BackupError(Exception):
    """An expected problem (a corrupt archive, a non-empty target, a missing pg_dump): the
    message says what happened and what to do."""


@dataclass
class Member:
    path: str  # inside the archive
    size: int
    sha256: str


@dataclass
class BackupResult:
    path: Path
    size: int
    files: int
    file_bytes: int
    database_bytes: int
    seconds: float
    deleted: list[Path] = field(default_factory=list)


@dataclass
class RestoreResult:
    files: int
    file_bytes: int
    database_bytes: int
    seconds: float
    manifest: dict
    replaced_files: int = 0


# --- Storages -----------------------------------------------------------------------------


def backup_storages() -> dict[str, Storage]:
    """The storages whose files a backup holds, by alias."""
    return {alias: storages[alias] for alias in settings.STORAGES if alias not in _NOT_BACKED_UP}


def _is_object_store(storage: Storage) -> bool:
    return hasattr(storage, "bucket_name") and hasattr(storage, "bucket")


def _root(storage: Storage) -> tuple[tuple, tuple[str, ...]]:
    """Where a storage keeps its files: a place and the path within it. Two aliases may share
    a place (S3_PRIVATE_PREFIX in the public bucket), and one may lie inside another."""
    if _is_object_store(storage):
        place = ("s3", storage.endpoint_url or "", storage.bucket_name)
        return place, tuple(part for part in (storage.location or "").split("/") if part)
    if isinstance(storage, FileSystemStorage):
        return ("fs",), Path(os.path.realpath(storage.location)).parts
    return ("instance", id(storage)), ()


def _nested_prefixes(alias: str, all_storages: dict[str, Storage], extra: list[Path]) -> list[str]:
    """Names under `alias` that belong elsewhere: another storage inside this one (listed
    under its own alias) or the backup directory itself."""
    place, parts = _root(all_storages[alias])
    prefixes = []
    for other_alias, other in all_storages.items():
        if other_alias == alias:
            continue
        other_place, other_parts = _root(other)
        if (
            other_place == place
            and len(other_parts) > len(parts)
            and other_parts[: len(parts)] == parts
        ):
            prefixes.append("/".join(other_parts[len(parts) :]))
    if place == ("fs",):
        for path in extra:
            path_parts = Path(os.path.realpath(path)).parts
            if len(path_parts) > len(parts) and path_parts[: len(parts)] == parts:
                prefixes.append("/".join(path_parts[len(parts) :]))
    return prefixes


def _same_place_earlier(alias: str, all_storages: dict[str, Storage]) -> bool:
    """True when an earlier alias has exactly this storage's root: its files are listed once,
    under that alias."""
    root = _root(all_storages[alias])
    for other_alias, other in all_storages.items():
        if other_alias == alias:
            return False
        if _root(other) == root:
            return True
    return False


def _walk(storage: Storage) -> Iterator[tuple[str, int | None]]:
    """(name, size if known) of every file in a storage, sorted by name."""
    if _is_object_store(storage):
        location = (storage.location or "").strip("/")
        prefix = f"{location}/" if location else ""
        for summary in storage.bucket.objects.filter(Prefix=prefix):
            if not summary.key.endswith("/"):
                yield summary.key[len(prefix) :], summary.size
        return
    if isinstance(storage, FileSystemStorage):
        root = Path(storage.location)
        if not root.is_dir():
            return
        found = []
        for directory, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for filename in filenames:
                path = Path(directory) / filename
                if path.is_file() and not path.is_symlink():
                    found.append((path.relative_to(root).as_posix(), path.stat().st_size))
        yield from sorted(found)
        return
    yield from ((name, None) for name in sorted(_listdir_recursive(storage, "")))


def _listdir_recursive(storage: Storage, directory: str) -> Iterator[str]:
    directories, files = storage.listdir(directory)
    for name in files:
        yield f"{directory}/{name}" if directory else name
    for name in directories:
        yield from _listdir_recursive(storage, f"{directory}/{name}" if directory else name)


def storage_files(extra_excluded: list[Path] | None = None) -> Iterator[tuple[str, str, int]]:
    """(alias, name, size) of every file a backup holds, each file once."""
    all_storages = backup_storages()
    for alias, storage in all_storages.items():
        if _same_place_earlier(alias, all_storages):
            continue
        excluded = _nested_prefixes(alias, all_storages, extra_excluded or [])
        for name, size in _walk(storage):
            if any(name == prefix or name.startswith(f"{prefix}/") for prefix in excluded):
                continue
            yield alias, name, storage.size(name) if size is None else size


def _open_stored(storage: Storage, name: str):
    """A readable stream of a stored file. From an object store the body is streamed:
    S3Storage.open() would first download the whole object into memory."""
    if _is_object_store(storage):
        key = storage._normalize_name(name)
        return contextlib.closing(storage.bucket.Object(key).get()["Body"])
    return storage.open(name, "rb")


class _HashingReader:
    def __init__(self, raw):
        self.raw = raw
        self.digest = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size if size and size > 0 else _CHUNK)
        self.digest.update(data)
        return data


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


# --- The database -------------------------------------------------------------------------


def _pg_command(program: str, connection) -> tuple[list[str], dict[str, str]]:
    """The connection's parameters as options, its password (and SSL options) in the
    environment, as Django's dbshell passes them: never on the command line, where `ps`
    shows it to every user of the machine."""
    settings_dict = connection.settings_dict
    _args, env = connection.client.settings_to_cmd_args_env(settings_dict, [])
    argv = [program]
    if settings_dict.get("USER"):
        argv += ["--username", settings_dict["USER"]]
    if settings_dict.get("HOST"):
        argv += ["--host", settings_dict["HOST"]]
    if settings_dict.get("PORT"):
        argv += ["--port", str(settings_dict["PORT"])]
    return argv, {**os.environ, **(env or {})}


def _run(argv: list[str], env: dict[str, str], what: str) -> None:
    try:
        result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise BackupError(
            f"{argv[0]} is not installed: install the PostgreSQL client tools "
            "(the same major version as the server or newer)."
        ) from exc
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()[-2000:]
        raise BackupError(f"{what} failed (exit status {result.returncode}): {detail}")


def _dump_database(alias: str, target: Path) -> None:
    connection = connections[alias]
    if connection.vendor == "postgresql":
        argv, env = _pg_command("pg_dump", connection)
        argv += ["--format=custom", "--no-owner", "--no-privileges", f"--file={target}"]
        argv += ["--dbname", connection.settings_dict["NAME"]]
        _run(argv, env, "pg_dump")
    elif connection.vendor == "sqlite":
        connection.ensure_connection()
        destination = sqlite3.connect(target)
        try:
            # The online backup API: a consistent copy while other processes write.
            connection.connection.backup(destination)
        finally:
            destination.close()
    else:
        raise BackupError(f"Backups support PostgreSQL and SQLite, not {connection.vendor}.")


def _restore_database(alias: str, dump: Path, *, replace: bool) -> None:
    connection = connections[alias]
    if connection.vendor == "postgresql":
        argv, env = _pg_command("pg_restore", connection)
        argv += ["--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction"]
        if replace:
            argv += ["--clean", "--if-exists"]
        argv += ["--dbname", connection.settings_dict["NAME"], str(dump)]
        connection.close()  # nothing of ours holds a lock pg_restore waits for
        _run(argv, env, "pg_restore")
    else:
        connection.ensure_connection()
        source = sqlite3.connect(dump)
        try:
            source.backup(connection.connection)
        finally:
            source.close()
        connection.close()


def _database_rows(alias: str) -> list[str]:
    """The tables of the target database that hold rows (the project's or any other), the
    user accounts' first: what tells an operator most plainly which site that is."""
    connection = connections[alias]
    users = get_user_model()._meta.db_table
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        holding = []
        for table in tables:
            cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")  # noqa: S608
            if cursor.fetchone():
                holding.append(table)
    return sorted(holding, key=lambda table: (table != users, table))


def _migration_state(alias: str) -> dict[str, list[str]]:
    recorder = MigrationRecorder(connections[alias])
    state: dict[str, list[str]] = {}
    for app_label, name in sorted(recorder.applied_migrations()):
        state.setdefault(app_label, []).append(name)
    return state


def _app_version() -> str:
    try:
        return metadata.version("topicshare")
    except metadata.PackageNotFoundError:
        pyproject = Path(settings.BASE_DIR) / "pyproject.toml"
        found = re.search(r'^version\s*=\s*"([^"]+)"', pyproject.read_text(), re.M)
        return found.group(1) if found else "unknown"


# --- Writing an archive -------------------------------------------------------------------


def archive_name(now: datetime, directory: Path) -> str:
    stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%S")
    name = f"{ARCHIVE_PREFIX}{stamp}Z{ARCHIVE_SUFFIX}"
    number = 1
    while (directory / name).exists():
        name = f"{ARCHIVE_PREFIX}{stamp}Z-{number}{ARCHIVE_SUFFIX}"
        number += 1
    return name


def archives_in(directory: Path) -> list[Path]:
    """The finished archives in a directory, oldest first (by the time in their names)."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = _ARCHIVE_NAME.match(path.name)
        if match and path.is_file():
            found.append(((match.group(1), int(match.group(2) or 0)), path))
    return [path for _key, path in sorted(found)]


def backup_create(
    *,
    output_dir: Path,
    using: str = DEFAULT_DB_ALIAS,
    keep: int | None = None,
    now: datetime | None = None,
) -> BackupResult:
    """Write one archive into `output_dir` and record the run (good or failed) as a
    BackupRun. With `keep`, then delete all but the newest `keep` archives there (only
    after this one was written and checked). Raises BackupError on failure."""
    started_at = now or timezone.now()
    clock = time.monotonic()
    output_dir = Path(output_dir)
    try:
        result = _write_archive(output_dir=output_dir, using=using, now=started_at)
    except Exception as exc:
        message = str(exc) if isinstance(exc, BackupError) else f"{type(exc).__name__}: {exc}"
        try:
            BackupRun.objects.using(using).create(
                started_at=started_at,
                finished_at=timezone.now(),
                ok=False,
                host=socket.gethostname()[:255],
                error=message[:10_000],
            )
        except Exception:  # the database may be what failed; the log still says why
            logger.exception("backup: cannot record the failed run")
        logger.error("backup failed: %s", message)
        if isinstance(exc, BackupError):
            raise
        raise BackupError(f"The backup failed: {message}") from exc
    result.seconds = time.monotonic() - clock
    BackupRun.objects.using(using).create(
        started_at=started_at,
        finished_at=timezone.now(),
        ok=True,
        host=socket.gethostname()[:255],
        file_name=result.path.name,
        size_bytes=result.size,
        file_count=result.files,
    )
    if keep is not None:
        result.deleted = backups_prune(directory=output_dir, keep=keep)
    logger.info("backup written: %s (%d bytes, %d files)", result.path, result.size, result.files)
    return result


def _write_archive(*, output_dir: Path, using: str, now: datetime) -> BackupResult:
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"Cannot create the backup directory {output_dir}: {exc}") from exc
    connection = connections[using]
    vendor = connection.vendor
    if vendor not in _DATABASE_MEMBERS:
        raise BackupError(f"Backups support PostgreSQL and SQLite, not {vendor}.")
    name = archive_name(now, output_dir)
    partial = output_dir / f".{name}{_PARTIAL_SUFFIX}"
    members: list[Member] = []
    files: list[dict] = []
    file_bytes = 0
    try:
        with tempfile.TemporaryDirectory(prefix="backup-", dir=output_dir) as scratch:
            dump = Path(scratch) / "database"
            _dump_database(using, dump)
            database = Member(_DATABASE_MEMBERS[vendor], dump.stat().st_size, _sha256_file(dump))
            with tarfile.open(partial, "w:gz", format=tarfile.PAX_FORMAT, compresslevel=1) as tar:
                tar.add(dump, arcname=database.path, recursive=False)
                dump.unlink()
                all_storages = backup_storages()
                for alias, stored_name, size in storage_files([output_dir]):
                    info = tarfile.TarInfo(f"files/{alias}/{stored_name}")
                    info.size, info.mtime, info.mode = size, int(now.timestamp()), 0o644
                    with _open_stored(all_storages[alias], stored_name) as handle:
                        reader = _HashingReader(handle)
                        tar.addfile(info, reader)
                    member = Member(info.name, size, reader.digest.hexdigest())
                    members.append(member)
                    files.append({"storage": alias, "name": stored_name, **_entry(member)})
                    file_bytes += size
                manifest = {
                    "format": FORMAT,
                    "format_version": FORMAT_VERSION,
                    "created_at": now.astimezone(UTC).isoformat(),
                    "host": socket.gethostname(),
                    "app": {"version": _app_version(), "migrations": _migration_state(using)},
                    "database": {"vendor": vendor, **_entry(database)},
                    "storages": {
                        alias: f"{type(storage).__module__}.{type(storage).__qualname__}"
                        for alias, storage in all_storages.items()
                    },
                    "files": files,
                }
                body = json.dumps(manifest, ensure_ascii=False, indent=1).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mtime, info.mode = len(body), int(now.timestamp()), 0o644
                tar.addfile(info, _BytesReader(body))
        with open(partial, "rb") as handle:
            os.fsync(handle.fileno())
        archive_verify(partial)
        final = output_dir / name
        os.rename(partial, final)
        _fsync_directory(output_dir)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
        raise
    return BackupResult(
        path=final,
        size=final.stat().st_size,
        files=len(files),
        file_bytes=file_bytes,
        database_bytes=database.size,
        seconds=0.0,
    )


def _entry(member: Member) -> dict:
    return {"path": member.path, "size": member.size, "sha256": member.sha256}


class _BytesReader:
    def __init__(self, body: bytes):
        self._body, self._position = body, 0

    def read(self, size: int = -1) -> bytes:
        end = len(self._body) if size < 0 else self._position + size
        data = self._body[self._position : end]
        self._position += len(data)
        return data


def _fsync_directory(directory: Path) -> None:
    with contextlib.suppress(OSError):
        descriptor = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def backups_prune(*, directory: Path, keep: int, now: datetime | None = None) -> list[Path]:
    """Delete all but the newest `keep` archives in `directory` (at least one is kept), and
    the temporary files of runs that died more than a day ago. Returns what was deleted."""
    archives = archives_in(directory)
    doomed = archives[: max(len(archives) - max(keep, 1), 0)]
    cutoff = (now or timezone.now()) - _PARTIAL_MAX_AGE
    for path in directory.iterdir():
        if path.name.startswith(f".{ARCHIVE_PREFIX}") and path.name.endswith(_PARTIAL_SUFFIX):
            with contextlib.suppress(OSError):
                if datetime.fromtimestamp(path.stat().st_mtime, UTC) < cutoff:
                    doomed.append(path)
    deleted = []
    for path in doomed:
        try:
            path.unlink()
        except OSError as exc:
            logger.warning("backup retention: cannot delete %s: %s", path, exc)
        else:
            deleted.append(path)
    return deleted


# --- Reading an archive -------------------------------------------------------------------


def archive_verify(path: Path) -> dict:
    """Read the whole archive and check every member against the manifest; return the
    manifest. Raises BackupError when anything is missing, extra, or differs."""
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path} does not exist or is not a file.")
    seen: dict[str, tuple[int, str]] = {}
    manifest_body = None
    try:
        # gzip itself, not tarfile's "r|gz": it checks the stream's CRC and length at the end.
        with gzip.open(path, "rb") as stream, tarfile.open(fileobj=stream, mode="r|") as tar:
            for info in tar:
                if not info.isfile():
                    raise BackupError(f"{path}: unexpected member {info.name!r} (not a file).")
                if info.name in seen or (info.name == MANIFEST and manifest_body is not None):
                    raise BackupError(f"{path}: the member {info.name!r} appears twice.")
                handle = tar.extractfile(info)
                if info.name == MANIFEST:
                    if info.size > _MANIFEST_MAX_BYTES:
                        raise BackupError(f"{path}: the manifest is implausibly large.")
                    manifest_body = handle.read()
                    continue
                digest, size = hashlib.sha256(), 0
                while chunk := handle.read(_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                seen[info.name] = (size, digest.hexdigest())
            while stream.read(_CHUNK):  # to the end of the gzip stream, where its CRC is
                pass
    except BackupError:
        raise
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:
        raise BackupError(
            f"{path} is not a readable backup archive (truncated or damaged): {exc}"
        ) from exc
    if manifest_body is None:
        raise BackupError(f"{path} has no {MANIFEST}: not a TopicShare backup, or truncated.")
    try:
        manifest = json.loads(manifest_body)
        if manifest.get("format") != FORMAT:
            raise ValueError("not a TopicShare backup")
        expected = [manifest["database"], *manifest["files"]]
        expected_paths = {entry["path"]: (entry["size"], entry["sha256"]) for entry in expected}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BackupError(f"{path}: the manifest is not a TopicShare backup manifest.") from exc
    if manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"{path}: archive format version {manifest.get('format_version')!r}; this code "
            f"reads version {FORMAT_VERSION}."
        )
    problems = []
    for member_path, (size, sha256) in expected_paths.items():
        if member_path not in seen:
            problems.append(f"{member_path} is missing")
        elif seen[member_path] != (size, sha256):
            problems.append(f"{member_path} does not match its checksum")
    problems += [
        f"{extra} is not in the manifest" for extra in sorted(set(seen) - set(expected_paths))
    ]
    if problems:
        shown = "; ".join(problems[:5]) + (
            f"; and {len(problems) - 5} more" if len(problems) > 5 else ""
        )
        raise BackupError(f"{path} is damaged: {shown}.")
    return manifest


def _safe_name(name: str) -> str:
    parts = PurePosixPath(name).parts
    if not name or name.startswith("/") or "\\" in name or ".." in parts or "." in parts:
        raise BackupError(f"The archive names an unsafe file path: {name!r}.")
    return name


def _target_files(limit: int = 5) -> list[str]:
    found = []
    for alias, name, _size in storage_files():
        found.append(f"{alias}:{name}")
        if len(found) >= limit:
            break
    return found


def _archived_migrations(manifest: dict) -> set[tuple[str, str]]:
    return {
        (app_label, name)
        for app_label, names in manifest["app"]["migrations"].items()
        for name in names
    }


def _unknown_migrations(manifest: dict) -> list[str]:
    """Migrations the archive's database had that this code lacks (it is newer)."""
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    return [f"{app}.{name}" for app, name in sorted(_archived_migrations(manifest) - known)]


def migrations_to_apply(manifest: dict) -> int:
    """How many of this code's migrations the archive's database did not have yet."""
    known = set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)
    return len(known - _archived_migrations(manifest))


def _restore_file(tar, info, entry: dict, all_storages: dict, *, force: bool) -> int:
    """Save one archived file under its own name; 1 when it replaced a file (with force)."""
    storage = all_storages[entry["storage"]]
    name = entry["name"]
    replaced = 0
    if force and storage.exists(name):
        storage.delete(name)
        replaced = 1
    with tempfile.TemporaryFile() as spool:
        with tar.extractfile(info) as source:
            shutil.copyfileobj(source, spool, _CHUNK)
        spool.seek(0)
        content = File(spool, name=PurePosixPath(name).name)
        content.size = entry["size"]
        saved = storage.save(name, content)
    if saved != name:
        raise BackupError(
            f"Storage {entry['storage']!r} saved {name!r} as {saved!r}: a file of that "
            "name appeared during the restore."
        )
    return replaced


def backup_restore(
    *, archive: Path, using: str = DEFAULT_DB_ALIAS, force: bool = False
) -> RestoreResult:
    """Restore an archive into the database `using` and the configured storages.

    Checks, before touching anything: every checksum, the database vendor, that this code
    knows every migration the archive's database had, and that the target database has no
    table with rows and the storages no file (unless `force`: the database's objects are
    then dropped and re-created from the dump, files of the same name are replaced).
    Side effects: the target database and storages."""
    clock = time.monotonic()
    archive = Path(archive)
    manifest = archive_verify(archive)
    vendor = connections[using].vendor
    if manifest["database"]["vendor"] != vendor:
        raise BackupError(
            f"The archive holds a {manifest['database']['vendor']} database; the target is "
            f"{vendor}. Restore into a database of the same kind."
        )
    unknown = _unknown_migrations(manifest)
    if unknown:
        raise BackupError(
            "The archive comes from a newer version of TopicShare: this code does not have "
            f"the migrations {', '.join(unknown[:5])}. Deploy that version first."
        )
    for entry in manifest["files"]:
        _safe_name(entry["name"])
        if entry["storage"] not in backup_storages():
            raise BackupError(
                f"The archive has files for a storage {entry['storage']!r} that is not "
                "configured here (settings.STORAGES)."
            )
    if not force:
        tables = _database_rows(using)
        files = _target_files()
        found = []
        if tables:
            more = f" and {len(tables) - 5} more" if len(tables) > 5 else ""
            found.append(f"{len(tables)} tables hold rows ({', '.join(tables[:5])}{more})")
        if files:
            found.append(f"the storages hold files ({', '.join(files)})")
        if found:
            raise BackupError(
                "The target is not empty: "
                + "; ".join(found)
                + ". Restore into a new, empty database and empty storage (a database that "
                "was migrated counts as not empty), or pass --force to replace what is there."
            )
    all_storages = backup_storages()
    replaced = 0
    database_path = manifest["database"]["path"]
    entries = {entry["path"]: entry for entry in manifest["files"]}
    # One sequential pass (the members are in the manifest's order, the dump first): each is
    # spooled to a temporary file, then handed to pg_restore/SQLite or to its storage.
    with tempfile.TemporaryDirectory(prefix="restore-") as scratch:
        try:
            with tarfile.open(archive, "r|gz") as tar:
                for info in tar:
                    if info.name == database_path:
                        dump = Path(scratch) / "database"
                        with tar.extractfile(info) as source, open(dump, "wb") as target:
                            shutil.copyfileobj(source, target, _CHUNK)
                        _restore_database(using, dump, replace=force)
                        dump.unlink()
                    elif info.name in entries:
                        replaced += _restore_file(
                            tar, info, entries[info.name], all_storages, force=force
                        )
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise BackupError(f"Reading {archive} failed during the restore: {exc}") from exc
    return RestoreResult(
        files=len(manifest["files"]),
        file_bytes=sum(entry["size"] for entry in manifest["files"]),
        database_bytes=manifest["database"]["size"],
        seconds=time.monotonic() - clock,
        manifest=manifest,
        replaced_files=replaced,
    )


# --- Reading the log ----------------------------------------------------------------------


@dataclass
class BackupStatus:
    last_good: BackupRun | None
    age_seconds: float | None
    stale_after_seconds: int

    @property
    def stale(self) -> bool:
        return self.age_seconds is None or self.age_seconds > self.stale_after_seconds


def backup_status(*, now: datetime | None = None) -> BackupStatus:
    """How old the last good backup is, on any node (from the database)."""
    now = now or timezone.now()
    last = BackupRun.objects.filter(ok=True).order_by("-finished_at").first()
    age = round((now - last.finished_at).total_seconds(), 1) if last else None
    return BackupStatus(last, age, settings.TOPICSHARE_BACKUP_STALE_SECONDS)


def backup_health(*, now: datetime, database_ok: bool = True) -> dict:
    """/healthz's part: the last good backup's age (None: none, or the database is not
    readable) and whether it is stale. Informational: it never fails the health check."""
    stale_after = settings.TOPICSHARE_BACKUP_STALE_SECONDS
    age = None
    if database_ok:
        try:
            age = backup_status(now=now).age_seconds
        except DatabaseError as exc:  # e.g. the table's migration not applied yet
            logger.warning("health: cannot read the backup log: %s: %s", type(exc).__name__, exc)
    return {
        "backup_age_seconds": age,
        "backup_stale_after_seconds": stale_after,
        "backup_stale": age is None or age > stale_after,
    }

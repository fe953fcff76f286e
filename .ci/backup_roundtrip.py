"""Backups that restore: seed a site, back it up, restore it elsewhere, compare everything.

    .venv/bin/python .ci/backup_roundtrip.py           # small (CI)
    .venv/bin/python .ci/backup_roundtrip.py --full    # larger (make faults)

BACKUP_ROUNDTRIP_SCALE (small | full, or a number of extra users) overrides the size.

Starts a moto S3 server (a child process it owns) and, on throwaway PostgreSQL databases
(BACKUP_SRC_DATABASE_URL / BACKUP_DST_DATABASE_URL, default topicshare_backup_src and
topicshare_backup_dst on 127.0.0.1, dropped and re-created) and buckets:

1. source: migrate, create_buckets, seed_demo, then more users, topics and library items
   with slides (PDFs of random bytes) and the forum's QR images in the object store;
2. a snapshot of the source: every table's row count and a checksum of its rows (ordered by
   primary key), every stored file's sha256 — taken before the backup, which records itself;
3. `manage.py backup --output DIR` (a subprocess, the real command);
4. target: a fresh, never-migrated database and fresh, empty buckets; `manage.py restore`;
   then a second restore without --force must be refused;
5. the same snapshot of the target, compared with the source's.

Prints the figures (tables, rows, files, bytes, archive size, seconds for backup and
restore) and exits non-zero on any difference or failure.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / ".ci"))

from compose_smoke import SmokeError, recreate_database, tail, wait_for  # noqa: E402

from tests.processes import Service, free_port  # noqa: E402

VENV_BIN = REPO / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
SRC_URL = os.environ.get(
    "BACKUP_SRC_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/topicshare_backup_src"
)
DST_URL = os.environ.get(
    "BACKUP_DST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/topicshare_backup_dst"
)
# Extra users; topics, library items (each with slides) and slide sizes follow from it.
SCALES = {"small": 60, "full": 3000}

SEED = """
import os, random
from django.core.files.base import ContentFile
from library.models import LibraryItem
from members.models import User
from sessions.models import Topic, Track
from topicshare.forum.models import ForumSettings

users = int(os.environ["ROUNDTRIP_USERS"])
items = max(users // 6, 5)
slide_bytes = int(os.environ["ROUNDTRIP_SLIDE_BYTES"])
rng = random.Random(20)
people = User.objects.bulk_create(
    [User(email=f"roundtrip{n}@example.org", display_name=f"往返 {n}") for n in range(users)]
)
track = Track.objects.order_by("pk").first()
Topic.objects.bulk_create(
    [Topic(title=f"Round trip {n}: 图神经网络", track=track, proposer=people[n],
           summary="**Why** it matters.") for n in range(users // 2)]
)
for n in range(items):
    item = LibraryItem.objects.create(title=f"Round-trip deck {n}")
    item.presenters.set([people[n]])
    body = b"%PDF-1.4\\n" + rng.randbytes(slide_bytes) + b"\\n%%EOF\\n"
    item.slides_file.save(f"deck-{n}.pdf", ContentFile(body))
png = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63f8cfc0f01f0005000201ffa65b2a660000000049454e44ae426082"
)
forum = ForumSettings.load()
forum.official_account_qr.save("account.png", ContentFile(png))
forum.study_group_qr.save("group.png", ContentFile(png))
print("SEEDED", users, items)
"""

SNAPSHOT = """
import hashlib, json
from django.apps import apps
from topicshare.core.backups import backup_storages, storage_files, _open_stored

tables = {}
for model in apps.get_models(include_auto_created=True):
    digest, count = hashlib.sha256(), 0
    for row in model._base_manager.order_by("pk").values_list().iterator(chunk_size=2000):
        digest.update(json.dumps(row, default=str, ensure_ascii=False).encode())
        digest.update(b"\\n")
        count += 1
    tables[model._meta.db_table] = [count, digest.hexdigest()]
files = {}
stores = backup_storages()
for alias, name, size in storage_files():
    digest = hashlib.sha256()
    with _open_stored(stores[alias], name) as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    files[f"{alias}:{name}"] = [size, digest.hexdigest()]
print("SNAPSHOT " + json.dumps({"tables": tables, "files": files}))
"""


class Child(Service):
    def check_running(self) -> None:
        code = self.popen.poll()
        if code is not None:
            raise SmokeError(f"{self.name} exited early with status {code}")


def manage(argv: list[str], env: dict[str, str], log: Path, *, check: bool = True):
    started = time.monotonic()
    result = subprocess.run(
        [PYTHON, "manage.py", *argv], cwd=REPO, env=env, capture_output=True, text=True
    )
    seconds = time.monotonic() - started
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(f"$ manage.py {' '.join(argv)}  ({result.returncode}, {seconds:.1f} s)\n")
        handle.write(result.stdout + result.stderr)
    if check and result.returncode != 0:
        raise SmokeError(
            f"manage.py {argv[0]} failed with status {result.returncode}:\n"
            f"{(result.stderr or result.stdout)[-3000:]}"
        )
    return result, seconds


def snapshot(env: dict[str, str], log: Path) -> dict:
    result, _seconds = manage(["shell", "-c", SNAPSHOT], env, log)
    line = next(line for line in result.stdout.splitlines() if line.startswith("SNAPSHOT "))
    return json.loads(line.removeprefix("SNAPSHOT "))


def compare(source: dict, target: dict) -> list[str]:
    differences = []
    for table in sorted(set(source["tables"]) | set(target["tables"])):
        before, after = source["tables"].get(table), target["tables"].get(table)
        if before != after:
            differences.append(f"table {table}: source {before}, restored {after}")
    for name in sorted(set(source["files"]) | set(target["files"])):
        before, after = source["files"].get(name), target["files"].get(name)
        if before != after:
            differences.append(f"file {name}: source {before}, restored {after}")
    return differences


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the larger round trip")
    options = parser.parse_args()
    scale = os.environ.get("BACKUP_ROUNDTRIP_SCALE") or ("full" if options.full else "small")
    users = SCALES[scale] if scale in SCALES else int(scale)
    slide_bytes = 200_000 if users <= SCALES["small"] else 1_000_000
    sys.stdout.reconfigure(line_buffering=True)
    tmp = Path(tempfile.mkdtemp(prefix="backup-roundtrip-"))
    log = tmp / "manage.log"
    s3_port = free_port()
    s3_url = f"http://127.0.0.1:{s3_port}"
    base = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONUNBUFFERED": "1",
        "DJANGO_SETTINGS_MODULE": "topicshare.settings.local",
        "S3_ENDPOINT_URL": s3_url,
        "S3_ACCESS_KEY_ID": "roundtrip",
        "S3_SECRET_ACCESS_KEY": "roundtrip-secret",
        "S3_REGION": "us-east-1",
        "ROUNDTRIP_USERS": str(users),
        "ROUNDTRIP_SLIDE_BYTES": str(slide_bytes),
    }
    for name in ("REDIS_URL", "CELERY_BROKER_URL", "REDIS_CACHE_URL"):
        base.pop(name, None)  # no broker needed: nothing here queues work
    source_env = {
        **base,
        "DATABASE_URL": SRC_URL,
        "S3_BUCKET": "roundtrip-src",
        "S3_PRIVATE_BUCKET": "roundtrip-src-private",
        "TOPICSHARE_VAR_DIR": str(tmp / "src-var"),
    }
    target_env = {
        **base,
        "DATABASE_URL": DST_URL,
        "S3_BUCKET": "roundtrip-dst",
        "S3_PRIVATE_BUCKET": "roundtrip-dst-private",
        "TOPICSHARE_VAR_DIR": str(tmp / "dst-var"),
    }
    services: list[Child] = []
    ok = False
    try:
        recreate_database(SRC_URL)
        recreate_database(DST_URL)
        s3 = Child("s3", [str(VENV_BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)],
                   base, tmp / "s3.log")  # fmt: skip
        services.append(s3)
        wait_for("the S3 server", lambda: (requests.get(s3_url, timeout=2).ok, None), services,
                 time.monotonic() + 30)  # fmt: skip
        print(f"backup round trip ({scale}): databases recreated, S3 at {s3_url}, logs in {tmp}")

        for step in (["migrate", "--noinput"], ["create_buckets"], ["seed_demo"]):
            manage(step, source_env, log)
        manage(["shell", "-c", SEED], source_env, log)
        source = snapshot(source_env, log)
        rows = sum(count for count, _sum in source["tables"].values())
        file_bytes = sum(size for size, _sum in source["files"].values())
        print(
            f"  source: {len(source['tables'])} tables, {rows} rows; "
            f"{len(source['files'])} files, {file_bytes / 1e6:.1f} MB"
        )

        archives = tmp / "archives"
        _result, backup_seconds = manage(["backup", "--output", str(archives)], source_env, log)
        (archive,) = sorted(archives.glob("topicshare-backup-*.tar.gz"))
        print(
            f"  backup: {archive.name}, {archive.stat().st_size / 1e6:.1f} MB, "
            f"{backup_seconds:.1f} s"
        )

        manage(["create_buckets"], target_env, log)  # empty buckets; the database is untouched
        _result, restore_seconds = manage(["restore", str(archive)], target_env, log)
        print(f"  restore into a fresh database and fresh buckets: {restore_seconds:.1f} s")
        again, _seconds = manage(["restore", str(archive)], target_env, log, check=False)
        if again.returncode == 0 or "The target is not empty" not in again.stderr:
            raise SmokeError("a second restore into the restored site was not refused")
        if "Traceback" in again.stderr:
            raise SmokeError(f"the refusal printed a traceback:\n{again.stderr[-2000:]}")
        print("  a second restore without --force: refused (the target is not empty)")

        target = snapshot(target_env, log)
        differences = compare(source, target)
        if differences:
            print(f"  {len(differences)} differences:")
            for line in differences[:40]:
                print(f"    {line}")
            raise SmokeError("the restored site differs from the source")
        print(
            f"  compared: {len(source['tables'])} tables, {rows} rows, "
            f"{len(source['files'])} files ({file_bytes / 1e6:.1f} MB): all equal"
        )
        ok = True
    except SmokeError as exc:
        print(f"FAILED: {exc}")
        print(f"--- {log.name}\n{tail(log, 60)}")
    finally:
        for service in reversed(services):
            service.stop()
    print("backup round trip: OK" if ok else "backup round trip: FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Smoke check on the forum's real archives in ../shared/seeds (CI only; tests never read
../shared): the README imports 71 top-level items and 12 children across 初期 and Topic 1 … 7,
a second run changes nothing, and the reading list and Zhihu export import cleanly."""

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# SEEDS_DIR points elsewhere, e.g. from a git worktree whose parent has no shared/.
SEEDS = Path(os.environ.get("SEEDS_DIR") or ROOT.parent / "shared" / "seeds")
sys.path.insert(0, str(ROOT))
os.environ["DJANGO_SETTINGS_MODULE"] = "topicshare.settings.test"
os.environ["DATABASE_URL"] = f"sqlite:///{tempfile.mkdtemp(prefix='seed-smoke-')}/db.sqlite3"
os.environ.pop("REDIS_URL", None)

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402

from library.importers.detect import import_library  # noqa: E402
from library.models import LibraryItem  # noqa: E402


def main() -> int:
    readme = SEEDS / "topicshare-readme.md"
    if not readme.exists():
        print(f"no seeds at {SEEDS} (set SEEDS_DIR): skipped")
        return 0
    call_command("migrate", verbosity=0)
    failures = []
    first = import_library(data=readme.read_bytes(), name=readme.name)
    second = import_library(data=readme.read_bytes(), name=readme.name)
    top = LibraryItem.objects.filter(parent__isnull=True).count()
    children = LibraryItem.objects.filter(parent__isnull=False).count()
    seasons = sorted(set(LibraryItem.objects.values_list("season__label", flat=True)))
    print(f"README: {top} top-level, {children} children; first run {first.summary}; "
          f"second run {second.summary}; seasons {seasons}")  # fmt: skip
    if (top, children) != (71, 12):
        failures.append("expected 71 top-level items and 12 children")
    if (second.created, second.updated) != (0, 0):
        failures.append("a second import changed something")
    if seasons != sorted(["初期", *(f"Topic {n}" for n in range(1, 8))]):
        failures.append(f"unexpected seasons {seasons}")
    if LibraryItem.objects.filter(parent__isnull=True, presenters__isnull=True).count() > 10:
        failures.append("too many items without a presenter")
    for name in ("tech-article-reading-list.md", "zhihu-column-export.json"):
        report = import_library(data=(SEEDS / name).read_bytes(), name=name)
        print(f"{name}: {report.summary}")
        if report.created == 0:
            failures.append(f"{name} imported nothing")
    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

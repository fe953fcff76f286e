"""Import the forum README's archive of past shares twice into a throwaway SQLite database and
print the time of each run and what it did (the target is < 1 s a run). Asserts nothing.

    .venv/bin/python bench/import_readme.py [path/to/README.md]

The default path is the seed copy beside the repository (../shared/seeds/topicshare-readme.md).
"""

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_README = ROOT.parent / "shared" / "seeds" / "topicshare-readme.md"


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_README
    if not path.is_file():
        print(f"No README at {path}: nothing to import. Pass the path of one as the argument.")
        return 0

    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "topicshare.settings.test"
    tmp = tempfile.mkdtemp(prefix="topicshare-bench-import-")
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/bench.sqlite3"
    os.environ.pop("REDIS_URL", None)

    import django

    django.setup()

    from django.core.management import call_command
    from django.db import connection

    try:
        call_command("migrate", verbosity=0)
        _bench(path, path.read_text(encoding="utf-8"))
    finally:
        connection.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def _bench(path: Path, text: str) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from library.importers.base import run_import
    from library.importers.topic_archive import parse_topic_archive
    from library.models import LibraryItem

    print(f"Importing {path}")
    for run in (1, 2):
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            items, problems = parse_topic_archive(text)
            parsed = time.perf_counter()
            report = run_import(
                source_file=path.name, items=items, problems=problems, dry_run=False
            )
            finished = time.perf_counter()
        top_level = sum(1 for item in items if not item.parent_key)
        print(
            f"  run {run}: {finished - started:.3f} s (parse {parsed - started:.3f} s), "
            f"{len(captured)} queries; {top_level} top-level + {len(items) - top_level} "
            f"children; {report.summary}"
        )
        for problem in report.problems:
            print(f"    {problem}")
    seasons = LibraryItem.objects.filter(parent__isnull=True).values_list(
        "season__label", flat=True
    )
    counts: dict[str, int] = {}
    for label in seasons:
        counts[label] = counts.get(label, 0) + 1
    print("  top-level items per season: " + ", ".join(f"{s} {n}" for s, n in counts.items()))


if __name__ == "__main__":
    sys.exit(main())

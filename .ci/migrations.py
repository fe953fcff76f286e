"""Deploy check: no new migration breaks the version still running, or locks a big table.

    DATABASE_URL=postgres://… .venv/bin/python .ci/migrations.py

A deploy migrates while the previous version still serves (compose's `migrate` service runs
before the new web nodes, which replace the old ones one by one). So a migration must not:

- drop or rename a column or table the running version still reads, or add a NOT NULL column
  without a default it does not fill in (django-migration-linter, on PostgreSQL's SQL);
- take a lock that blocks a large table for the length of a rewrite or a scan: an index built
  without CONCURRENTLY, a column type change, a constraint validated in place, a volatile
  default (squawk, over `sqlmigrate`'s SQL).

Every migration is checked except those listed in .ci/migrations-reviewed.txt, one
`app_label.migration_name  reason` a line: the migrations shipped before this check existed
(every deployed database already has them) and any later one a reviewer accepted on purpose —
the contract half of an expand/contract change, a release after the code stopped reading the
column, or a table known to be small. The reason is required.

Needs PostgreSQL (the SQL checked is what production runs). Exits 1 and names each problem.
"""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
REVIEWED = REPO / ".ci" / "migrations-reviewed.txt"
SQUAWK = REPO / ".venv" / "bin" / "squawk"

# Squawk rules that do not describe a lock or a break for this project:
# - transaction-nesting: sqlmigrate prints Django's own BEGIN/COMMIT;
# - require-lock-timeout / require-statement-timeout: we do not SET them per migration;
# - prefer-text-field: CharField is varchar(n) by design (bounded input); widening one is a
#   catalogue change on PostgreSQL 9.2+, no rewrite;
# - ban-drop-default: Django adds a field with a default, fills it, then drops the default —
#   the column stays filled, old code never relied on the database default;
# - prefer-robust-stmts, prefer-bigint-over-int, prefer-identity, prefer-timestamptz: style.
SQUAWK_EXCLUDED = (
    "transaction-nesting",
    "require-lock-timeout",
    "require-statement-timeout",
    "prefer-text-field",
    "ban-drop-default",
    "prefer-robust-stmts",
    "prefer-bigint-over-int",
    "prefer-bigint-over-smallint",
    "prefer-identity",
    "prefer-timestamptz",
)


@dataclass
class Finding:
    migration: str
    tool: str
    problems: list[str] = field(default_factory=list)


def reviewed(path: Path = REVIEWED) -> dict[str, str]:
    """`app_label.name` → reason. A line without a reason is an error: say why it is safe."""
    accepted: dict[str, str] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition(" ")
        if not reason.strip():
            raise SystemExit(f"{path.name}:{number}: {name} has no reason")
        accepted[name] = reason.strip()
    return accepted


def project_migrations() -> list[tuple[str, str]]:
    """(app_label, name) of every migration of the project's own apps, in graph order."""
    from django.apps import apps
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    ours = {
        config.label
        for config in apps.get_app_configs()
        if Path(config.path).resolve().is_relative_to(REPO)
        and not Path(config.path).resolve().is_relative_to(REPO / ".venv")
    }
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    order = loader.graph.leaf_nodes()
    plan = []
    seen = set()
    for leaf in order:
        for node in loader.graph.forwards_plan(leaf):
            if node not in seen and node[0] in ours:
                seen.add(node)
                plan.append(node)
    return plan


def lint_compatibility(migrations: list[tuple[str, str]]) -> list[Finding]:
    """django-migration-linter's backward-incompatibility errors, on PostgreSQL's SQL, and its
    data-migration checks (models from `apps.get_model`, not imported). Its warnings about
    indexes are left to squawk below, which tells a new table from an old one."""
    from django_migration_linter import MigrationLinter
    from django_migration_linter.sql_analyser.analyser import analyse_sql_statements

    logging.getLogger("django_migration_linter").setLevel(logging.WARNING)  # one line a call

    findings: list[Finding] = []
    if not migrations:
        return findings
    linter = MigrationLinter(
        str(REPO),
        no_cache=True,
        analyser_string="postgresql",
        no_output=True,
        ignore_initial_migrations=True,
    )
    for app, name in migrations:
        migration = linter.migration_loader.disk_migrations[(app, name)]
        if linter.should_ignore_migration(app, name, migration.operations, migration.initial):
            continue  # an initial migration creates its tables: nothing running reads them yet
        errors, _ignored, _warnings = analyse_sql_statements(
            linter.sql_analyser_class,
            linter.get_sql(app, name),
            linter.exclude_migration_tests,
        )
        data_errors, _ignored, _warnings = linter.analyse_data_migration(migration)
        problems = [
            issue.message
            + (
                f" (table {issue.table}"
                + (f", column {issue.column}" if issue.column else "")
                + ")"
                if issue.table
                else ""
            )
            for issue in [*errors, *(data_errors or [])]
        ]
        if problems:
            findings.append(Finding(f"{app}.{name}", "django-migration-linter", problems))
    return findings


def sql_of(app: str, name: str) -> str:
    from django.core.management import call_command

    out = io.StringIO()
    call_command("sqlmigrate", app, name, stdout=out)
    return out.getvalue()


def lint_locks(migrations: list[tuple[str, str]]) -> list[Finding]:
    findings = []
    with tempfile.TemporaryDirectory(prefix="squawk-") as tmp:
        for app, name in migrations:
            sql = sql_of(app, name)
            if not sql.strip() or sql.strip().startswith("--") and "\n" not in sql.strip():
                continue
            path = Path(tmp) / f"{app}.{name}.sql"
            path.write_text(sql, encoding="utf-8")
            result = subprocess.run(
                [
                    str(SQUAWK),
                    "--reporter",
                    "json",
                    "--pg-version",
                    "15",
                    f"--exclude={','.join(SQUAWK_EXCLUDED)}",
                    str(path),
                ],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            try:
                violations = json.loads(result.stdout or "[]")
            except json.JSONDecodeError:
                findings.append(Finding(f"{app}.{name}", "squawk", [result.stderr.strip()]))
                continue
            problems = [
                f"{v.get('rule_name')}: {(v.get('message') or '').strip()}"
                + (f" (line {v['line'] + 1})" if isinstance(v.get("line"), int) else "")
                for v in violations
            ]
            if problems:
                findings.append(Finding(f"{app}.{name}", "squawk", problems))
    return findings


def check(accepted: dict[str, str]) -> tuple[list[str], list[Finding]]:
    every = project_migrations()
    known = {f"{app}.{name}" for app, name in every}
    stale = sorted(set(accepted) - known)
    if stale:
        raise SystemExit(f"{REVIEWED.name} lists migrations that do not exist: {', '.join(stale)}")
    new = [(app, name) for app, name in every if f"{app}.{name}" not in accepted]
    return [f"{app}.{name}" for app, name in new], lint_compatibility(new) + lint_locks(new)


def main() -> int:
    sys.path.insert(0, str(REPO))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "topicshare.settings.local")
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        print("migrations check: needs PostgreSQL (set DATABASE_URL=postgres://…)")
        return 2
    checked, findings = check(reviewed())
    print(f"migrations check: {len(checked)} migration(s) not yet reviewed, checked:")
    for name in checked:
        print(f"  {name}")
    for finding in findings:
        print(f"\n{finding.migration} ({finding.tool}):")
        for problem in finding.problems:
            print(f"  - {problem}")
    if findings:
        print(
            "\nA deploy migrates while the previous version still serves. Split the change"
            " (expand, release, contract), build indexes CONCURRENTLY, add constraints NOT"
            f" VALID and validate later — or, if it is safe here, list it in {REVIEWED.name}"
            " with the reason."
        )
        return 1
    print("migrations check: passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The deploy check (.ci/migrations.py) refuses what would break the running version or lock a
table, on a throwaway app's migrations (tests/deploy_check_app), and passes the safe ones and
the project's own. It reads PostgreSQL's SQL, so it runs where the suite runs on PostgreSQL
(CI); on SQLite it is skipped."""

import importlib.util
import sys
from pathlib import Path

import pytest
from django.db import connection
from django.test import modify_settings

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="the check reads PostgreSQL's SQL"
    ),
    pytest.mark.django_db,
]


def _check_module():
    if "ci_migrations" not in sys.modules:
        path = REPO / ".ci" / "migrations.py"
        spec = importlib.util.spec_from_file_location("ci_migrations", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # its dataclasses look their module up
        spec.loader.exec_module(module)
    return sys.modules["ci_migrations"]


@pytest.fixture
def check():
    with modify_settings(INSTALLED_APPS={"append": "tests.deploy_check_app"}):
        yield _check_module()


def _problems(findings) -> str:
    return "\n".join(problem for finding in findings for problem in finding.problems)


def test_a_dropped_column_a_not_null_column_and_a_blocking_index_are_refused(check):
    unsafe = [("deploy_check_app", "0002_unsafe")]
    compatibility = _problems(check.lint_compatibility(unsafe))
    locks = _problems(check.lint_locks(unsafe))
    assert "DROPPING columns" in compatibility
    assert "column note" in compatibility
    assert "NOT NULL" in compatibility
    assert "require-concurrent-index-creation" in locks


def test_nullable_columns_and_database_defaults_pass(check):
    safe = [("deploy_check_app", "0003_safe")]
    assert check.lint_compatibility(safe) == []
    assert check.lint_locks(safe) == []


def test_a_new_table_is_not_a_lock_problem(check):
    # An initial migration creates tables nothing running reads yet.
    initial = [("deploy_check_app", "0001_initial")]
    assert check.lint_compatibility(initial) == []
    assert check.lint_locks(initial) == []


def test_the_projects_migrations_pass_or_are_reviewed_with_a_reason():
    module = _check_module()
    checked, findings = module.check(module.reviewed())
    assert findings == [], _problems(findings)
    assert all(reason for reason in module.reviewed().values())


def test_a_reviewed_entry_needs_a_reason(tmp_path):
    module = _check_module()
    listed = tmp_path / "reviewed.txt"
    listed.write_text("# header\nmembers.0001_initial\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="has no reason"):
        module.reviewed(listed)

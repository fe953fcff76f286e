"""What is installed is what was tested: requirements.lock and requirements-prod.lock agree
with pyproject.toml, carry a hash for every pin, and this interpreter's `pip freeze` is the
lock (make install builds .venv from it and nothing else)."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".ci" / "lock.py"

spec = importlib.util.spec_from_file_location("lockscript", SCRIPT)
lock = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lock)


def _copies(tmp_path):
    paths = {}
    for name in ("pyproject.toml", "requirements.lock", "requirements-prod.lock"):
        paths[name] = tmp_path / name
        paths[name].write_text((ROOT / name).read_text(encoding="utf-8"), encoding="utf-8")
    return paths


def _problems(paths):
    return lock.problems(
        paths["pyproject.toml"], paths["requirements.lock"], paths["requirements-prod.lock"]
    )


def test_the_committed_locks_match_pyproject():
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "check"], capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 0, result.stderr
    assert lock.problems() == []


def test_a_new_dependency_in_pyproject_makes_the_lock_stale(tmp_path):
    paths = _copies(tmp_path)
    text = paths["pyproject.toml"].read_text(encoding="utf-8")
    paths["pyproject.toml"].write_text(
        text.replace("dependencies = [\n", 'dependencies = [\n    "segno>=1.6",\n', 1),
        encoding="utf-8",
    )

    found = _problems(paths)

    assert any("other dependencies than pyproject.toml" in line for line in found), found


def test_a_changed_range_makes_the_lock_stale(tmp_path):
    paths = _copies(tmp_path)
    text = paths["pyproject.toml"].read_text(encoding="utf-8")
    paths["pyproject.toml"].write_text(
        re.sub(r'"Django>=5\.2,<5\.3"', '"Django>=5.2,<5.2.1"', text), encoding="utf-8"
    )

    assert _problems(paths)


def test_formatting_and_comments_in_pyproject_do_not(tmp_path):
    paths = _copies(tmp_path)
    text = paths["pyproject.toml"].read_text(encoding="utf-8")
    paths["pyproject.toml"].write_text("# a comment\n" + text + "\n\n", encoding="utf-8")

    assert _problems(paths) == []


def test_a_hand_edited_pin_outside_its_range_is_refused(tmp_path):
    paths = _copies(tmp_path)
    for name in ("requirements.lock", "requirements-prod.lock"):
        text = paths[name].read_text(encoding="utf-8")
        paths[name].write_text(re.sub(r"^django==\S+", "django==5.1.0", text, flags=re.M))

    found = _problems(paths)

    assert any("pins django==5.1.0, outside" in line for line in found), found


def test_a_pin_without_a_hash_is_refused(tmp_path):
    paths = _copies(tmp_path)
    path = paths["requirements.lock"]
    text = path.read_text(encoding="utf-8")
    path.write_text(text + "extra-package==1.0\n", encoding="utf-8")

    assert any("without a hash" in line for line in _problems(paths))


def test_prod_lock_pins_the_versions_the_suite_runs_with():
    dev = lock.read_pins(ROOT / "requirements.lock")
    prod = lock.read_pins(ROOT / "requirements-prod.lock")

    assert prod, "requirements-prod.lock pins nothing"
    assert {name: dev.get(name) for name in prod} == prod
    assert "pytest" not in prod and "playwright" not in prod  # the image has no dev tools


def test_the_stale_message_says_make_lock(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(lock, "problems", lambda: ["requirements.lock is missing"])

    assert lock.main(["lock.py", "check"]) == 1
    assert "make lock" in capsys.readouterr().err


@pytest.mark.skipif(
    Path(sys.prefix).resolve() != (ROOT / ".venv").resolve(),
    reason="checks the project's own .venv (make install builds it from the lock)",
)
def test_pip_freeze_equals_the_lock():
    assert lock.installed_problems() == []


def test_the_readme_shows_every_system_package_ci_installs():
    listed = [
        line.split()[0]
        for line in (ROOT / ".ci" / "system-packages").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")

    assert {"postgresql", "redis-server", "chromium", "fonts-noto-cjk", "wrk"} <= set(listed)
    assert [name for name in listed if f"| {name} |" not in readme] == []
    assert "system-packages" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")

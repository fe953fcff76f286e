"""The apps depend on each other one way: import-linter's contracts (pyproject.toml) hold."""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["name"]: contract for contract in config["contracts"]}


def test_the_notifications_app_may_import_no_domain_app():
    (contract,) = [
        c
        for c in _contracts().values()
        if "topicshare.notifications" in c.get("source_modules", [])
    ]
    assert set(contract["forbidden_modules"]) >= {
        "members",
        "sessions",
        "library",
        "topicshare.forum",
    }


def test_every_contract_is_kept():
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Contracts: {len(_contracts())} kept, 0 broken." in result.stdout

#!/usr/bin/env python3
"""The dependency lock: what is installed is what was tested.

    python3 .ci/lock.py write      # `make lock`: resolve pyproject.toml's ranges with uv,
                                   # keeping the pins that still fit (`--upgrade`: the newest)
    python3 .ci/lock.py check      # the lock still matches pyproject.toml (CI, the test suite)
    python3 .ci/lock.py installed  # `pip freeze` of this interpreter equals the lock

Two files, both generated, both hash-checked on install:
- requirements.lock       runtime + dev (make install, CI, the test suite)
- requirements-prod.lock  runtime only (the Dockerfile), resolved inside the first one, so
                          every version in it is the version the suite ran with.

Each lock carries the SHA-256 of the dependency tables it was made from. `check` fails when
pyproject.toml's dependencies changed since (or when a pin no longer satisfies its range);
the message says `make lock`. Only the standard library is needed for the hash check, so CI
can run it before anything is installed; the range check runs where `packaging` is importable.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"
DEV_LOCK = ROOT / "requirements.lock"
PROD_LOCK = ROOT / "requirements-prod.lock"
STAMP_PREFIX = "# pyproject-dependencies-sha256: "
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")
# pip freeze leaves these out of its output; a virtualenv brings them along.
NOT_FROZEN = {"pip", "setuptools", "wheel", "distribute"}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def project_table(pyproject: Path = PYPROJECT) -> dict:
    with pyproject.open("rb") as fh:
        return tomllib.load(fh)["project"]


def inputs_digest(pyproject: Path = PYPROJECT) -> str:
    """A digest of what the locks are made from: the Python range and every dependency list.
    Formatting and comments in pyproject.toml do not change it; a new or changed range does."""
    project = project_table(pyproject)
    inputs = {
        "requires-python": project.get("requires-python", ""),
        "dependencies": project.get("dependencies", []),
        "optional-dependencies": project.get("optional-dependencies", {}),
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def read_pins(lock: Path) -> dict[str, str]:
    """{normalised name: version} of every pinned line; each pin must carry hashes."""
    pins: dict[str, str] = {}
    lines = lock.read_text(encoding="utf-8").splitlines()
    for number, line in enumerate(lines):
        match = PIN.match(line)
        if not match:
            continue
        following = lines[number + 1] if number + 1 < len(lines) else ""
        if "--hash=sha256:" not in line and "--hash=sha256:" not in following:
            raise LockError(f"{lock.name}: {match.group(1)} is pinned without a hash")
        pins[normalise(match.group(1))] = match.group(2)
    return pins


def stamped_digest(lock: Path) -> str | None:
    for line in lock.read_text(encoding="utf-8").splitlines():
        if line.startswith(STAMP_PREFIX):
            return line[len(STAMP_PREFIX) :].strip()
    return None


class LockError(Exception):
    pass


def problems(pyproject: Path = PYPROJECT, dev_lock: Path = DEV_LOCK, prod_lock: Path = PROD_LOCK):
    """Every way the locks and pyproject.toml disagree, as sentences (empty: they agree)."""
    found: list[str] = []
    digest = inputs_digest(pyproject)
    for lock in (dev_lock, prod_lock):
        if not lock.exists():
            found.append(f"{lock.name} is missing")
            continue
        stamp = stamped_digest(lock)
        if stamp is None:
            found.append(f"{lock.name} has no '{STAMP_PREFIX.strip()}' line")
        elif stamp != digest:
            found.append(
                f"{lock.name} was made from other dependencies than pyproject.toml has now"
            )
    if found:
        return found
    try:
        dev, prod = read_pins(dev_lock), read_pins(prod_lock)
    except LockError as exc:
        return [str(exc)]
    for name, version in prod.items():
        if dev.get(name) != version:
            found.append(
                f"{prod_lock.name} pins {name}=={version}, {dev_lock.name} "
                f"{'pins ' + dev[name] if name in dev else 'lacks it'}"
            )
    found.extend(_range_problems(pyproject, dev, prod))
    return found


def _range_problems(pyproject: Path, dev: dict[str, str], prod: dict[str, str]) -> list[str]:
    try:
        from packaging.requirements import Requirement
    except ImportError:  # plain python3 before `make install`: the digest check has run
        return []
    project = project_table(pyproject)
    wanted = [(r, (dev, prod)) for r in project.get("dependencies", [])]
    for extra in project.get("optional-dependencies", {}).values():
        wanted += [(r, (dev,)) for r in extra]
    found = []
    for text, locks in wanted:
        requirement = Requirement(text)
        if requirement.marker and not requirement.marker.evaluate({"extra": ""}):
            continue
        name = normalise(requirement.name)
        for pins, lock_name in zip(locks, (DEV_LOCK.name, PROD_LOCK.name), strict=False):
            version = pins.get(name)
            if version is None:
                found.append(f"{lock_name} lacks {name}, which pyproject.toml asks for")
            elif not requirement.specifier.contains(version, prereleases=True):
                found.append(f"{lock_name} pins {name}=={version}, outside {text!r}")
    return found


def installed_problems(lock: Path = DEV_LOCK) -> list[str]:
    """Differences between `pip freeze` of this interpreter and the lock."""
    frozen = subprocess.run(
        [sys.executable, "-m", "pip", "freeze"], capture_output=True, text=True, check=True
    ).stdout
    have = {}
    for line in frozen.splitlines():
        match = PIN.match(line)
        if match:
            have[normalise(match.group(1))] = match.group(2)
        elif line.strip() and not line.startswith("#"):
            have[line.strip()] = "(not a pinned release)"
    want = read_pins(lock)
    found = []
    for name in sorted(set(have) | set(want)):
        if name in NOT_FROZEN:
            continue
        if have.get(name) != want.get(name):
            found.append(
                f"{name}: installed {have.get(name, 'nothing')}, lock {want.get(name, 'nothing')}"
            )
    return found


def write(upgrade: bool = False) -> None:
    """Resolve pyproject.toml's ranges into both locks (uv pip compile --generate-hashes).
    uv keeps the existing pins where they still satisfy the ranges, so adding a dependency
    does not upgrade everything else; `upgrade` asks for the newest releases instead."""
    uv = Path(sys.executable).with_name("uv")
    if not uv.exists():
        sys.exit(f"{uv} is missing: run `make install` first (uv is pinned in the dev lock)")
    common = [
        str(uv), "pip", "compile", str(PYPROJECT), "--generate-hashes", "--quiet",
        "--python-version", "3.11", "--custom-compile-command", "make lock",
    ]  # fmt: skip
    dev = [*common, "--extra", "dev", "-o", str(DEV_LOCK)]
    subprocess.run([*dev, "--upgrade"] if upgrade else dev, check=True)
    # Runtime only, inside the dev resolution: the same versions, fewer packages.
    subprocess.run([*common, "--constraint", str(DEV_LOCK), "-o", str(PROD_LOCK)], check=True)
    digest = inputs_digest()
    for lock in (DEV_LOCK, PROD_LOCK):
        lines = [
            line
            for line in lock.read_text(encoding="utf-8").splitlines()
            if not line.startswith(STAMP_PREFIX)
        ]
        # After uv's header, which ends at the first blank or pinned line.
        at = next((i for i, line in enumerate(lines) if not line.startswith("#")), len(lines))
        lines.insert(at, STAMP_PREFIX + digest)
        lock.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {DEV_LOCK.name} ({len(read_pins(DEV_LOCK))} packages) and "
          f"{PROD_LOCK.name} ({len(read_pins(PROD_LOCK))} packages)")  # fmt: skip


def main(argv: list[str]) -> int:
    command = argv[1] if len(argv) > 1 else "check"
    if command == "write":
        write(upgrade="--upgrade" in argv)
        return 0
    if command == "check":
        found = problems()
        if found:
            print("The dependency lock is stale:", file=sys.stderr)
            for line in found:
                print(f"  - {line}", file=sys.stderr)
            print(
                "Run `make lock` to re-resolve it, run `make test`, and commit "
                "pyproject.toml with requirements.lock and requirements-prod.lock.",
                file=sys.stderr,
            )
            return 1
        print("lock: requirements.lock and requirements-prod.lock match pyproject.toml")
        return 0
    if command == "installed":
        found = installed_problems()
        if found:
            print("This environment is not the lock (pip freeze differs):", file=sys.stderr)
            for line in found:
                print(f"  - {line}", file=sys.stderr)
            print("Run `make clean install` to rebuild .venv from the lock.", file=sys.stderr)
            return 1
        print(f"pip freeze equals {DEV_LOCK.name}")
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))

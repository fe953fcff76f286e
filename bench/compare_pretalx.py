"""TopicShare side by side with pretalx (the closest peer), measured in one run by the same
script: ../shared/bench/pretalx/measure.sh (gunicorn, 2 sync workers, wrk -t2 -c16).

    ../shared/bench/pretalx/setup.sh     # once: installs and seeds pretalx in /tmp/anchor-pretalx
    .venv/bin/python bench/compare_pretalx.py

It seeds TopicShare with comparable data (300 sessions, 100 presenters, 10,000 library items)
in a SQLite file, as pretalx runs on SQLite, serves it with the production settings, runs
measure.sh over pretalx's pages, ours and the bare one-view Django app (the ceiling on this
machine), then prints one table of req/s, p50/p99 and worker RSS with the ratios against the
issue's targets. Absolute figures move from run to run; the ratios are what to read.
Then the same pages anonymously with the whole-page cache off, and signed in as a member and
as an organiser (../shared/bench/signed-in/measure.sh), in a second table against pretalx's
comparable pages of the same run.
Env: DUR (15s per page), CONC (16), WORKERS (2), PRETALX_ROOT (/tmp/anchor-pretalx),
COMPARE_SKIP_PRETALX=1 (ours only)."""

import csv
import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "bench" / "pretalx"
PYTHON = str(ROOT / ".venv" / "bin" / "python")
PRETALX_ROOT = Path(os.environ.get("PRETALX_ROOT", "/tmp/anchor-pretalx"))  # noqa: S108 — setup.sh's

# Our page, pretalx's comparable page (its label in pages.txt), the target ratio.
OURS = [
    ("home", "/", "event landing", 10),
    ("topic sheet", "/topics/", "talk list (sessions)", 10),
    ("sessions", "/sessions/", "talk list (sessions)", 10),
    ("session detail", "/sessions/{session}/", "single talk", 10),
    ("library", "/library/", "talk list (sessions)", 10),
    ("library ?q=蒸馏", "/library/?q=%E8%92%B8%E9%A6%8F", "talk list (sessions)", 10),
    ("library ?q=transformer", "/library/?q=transformer", "talk list (sessions)", 10),
    ("calendar.ics", "/sessions/calendar.ics", "export .ics", 20),
]


# Signed in (../shared/bench/signed-in/measure.sh, a member's or an organiser's session
# cookie): our page, its path, pretalx's comparable page, the target ratio.
SIGNED_IN = "member@demo.topicshare.local"
ORGANISER = "organiser@demo.topicshare.local"
MEMBER_PAGES = [
    ("home", "/", "event landing", 10),
    ("/me/", "/me/", "event landing", 10),
    ("topic sheet", "/topics/", "talk list (sessions)", 10),
    ("sheet, filtered, page 2", "/topics/?status=proposed&status=accepted&page=2",
     "talk list (sessions)", 10),
    ("sessions", "/sessions/", "talk list (sessions)", 10),
    ("session detail", "/sessions/{session}/", "single talk", 10),
    ("topic", "/topics/{topic}/", "single talk", 10),
    ("group page", "/topics/{group_topic}/group/", "single talk", 10),
    ("library", "/library/", "talk list (sessions)", 10),
    ("library ?q=蒸馏", "/library/?q=%E8%92%B8%E9%A6%8F", "talk list (sessions)", 10),
    ("profile", "/profile/", "CfP page", 10),
]  # fmt: skip
ORGANISER_PAGES = [
    ("inbox", "/staff/inbox/", "talk list (sessions)", 5),
    ("dashboard", "/staff/dashboard/", "talk list (sessions)", 5),
    ("season review", "/staff/seasons/{season}/review/", "talk list (sessions)", 5),
    ("schedule", "/sessions/schedule/", "talk list (sessions)", 5),
]


def measure_signed_in(*, email: str, pages: list, facts: dict, env: dict) -> dict[str, dict]:
    """../shared/bench/signed-in/measure.sh over these pages as this person: req/s and p50
    by path (a page that does not answer 200 is missing)."""
    paths = [path.format(**facts) for _label, path, _peer, _target in pages]
    print(f"--- TopicShare signed in as {email}", flush=True)
    database = env["DATABASE_URL"].removeprefix("sqlite:///")
    out = subprocess.run(
        ["bash", str(SHARED.parent / "signed-in" / "measure.sh"), str(ROOT), database, email,
         *paths],
        env={**os.environ, **{k: v for k, v in env.items() if k != "DATABASE_URL"},
             "DUR": os.environ.get("DUR", "15s")},
        check=True, capture_output=True, text=True, stdin=subprocess.DEVNULL,
    ).stdout  # fmt: skip
    print(out, end="", flush=True)
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        if "signed-in" in parts:
            rows[parts[0]] = {"rps": parts[3], "p50": parts[5]}
    return {label: rows.get(path.format(**facts)) for label, path, _peer, _target in pages}


def measure(*, label: str, env: dict, out: Path) -> dict[str, dict]:
    """Run measure.sh; return its summary rows by label and the worker RSS (kB)."""
    print(f"--- {label}", flush=True)
    subprocess.run(
        ["bash", str(SHARED / "measure.sh")],
        env={**os.environ, **env, "OUT": str(out)},
        check=True,
        stdin=subprocess.DEVNULL,
    )
    with open(out / "summary.tsv", encoding="utf-8") as handle:
        rows = {row["label"]: row for row in csv.DictReader(handle, delimiter="\t")}
    rss = [
        int(line.split()[-1])
        for line in (out / "rss.txt").read_text().splitlines()
        if line.startswith("after:") and " worker " in line
    ]
    return {"rows": rows, "worker_rss_mb": round(max(rss) / 1024) if rss else 0}


def seed(tmp: Path) -> tuple[dict, dict]:
    database = f"sqlite:///{tmp}/compare.sqlite3"
    out = subprocess.run(
        [PYTHON, str(ROOT / "bench" / "load.py"), "--seed"],
        env={**os.environ, "BENCH_DATABASE_URL": database, "PYTHONUNBUFFERED": "1"},
        check=True,
        capture_output=True,
        text=True,
        timeout=900,
    ).stdout
    facts = json.loads(next(line for line in out.splitlines() if line.startswith("SEEDJSON"))[9:])
    env = {
        "DJANGO_SETTINGS_MODULE": "topicshare.settings.production",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "TOPICSHARE_SITE_URL": "http://127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "False",
        "DATABASE_URL": database,
        "TOPICSHARE_VAR_DIR": str(tmp / "var"),
        "STATIC_ROOT": str(tmp / "static"),
    }
    subprocess.run(
        [PYTHON, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=True,
    )
    return facts, env


def main() -> int:
    tmp = Path(tempfile.mkdtemp(prefix="topicshare-compare-"))
    facts, env = seed(tmp)
    print(
        f"seeded: {facts['sessions']} sessions, {facts['presenters']} presenters, "
        f"{facts['library']} library items, {facts['topics']} topics",
        flush=True,
    )
    pages = tmp / "pages.txt"
    pages.write_text(
        "".join(
            f"{label}\t{path.format(session=facts['session'])}\ttext/html\n"
            for label, path, _peer, _target in OURS
        ),
        encoding="utf-8",
    )
    common = {key: os.environ[key] for key in ("DUR", "CONC", "WORKERS") if key in os.environ}
    ours = measure(
        label="TopicShare",
        out=tmp / "ours",
        env={
            **env,
            **common,
            "GUNICORN": str(ROOT / ".venv" / "bin" / "gunicorn"),
            "WSGI": "topicshare.wsgi",
            "APP_CWD": str(ROOT),
            "PAGES": str(pages),
            "PORT": "8346",
        },
    )
    # The same pages anonymously with the whole-page cache off: what a miss costs (the
    # fragments inside the pages stay on, as they are for signed-in people).
    uncached = measure(
        label="TopicShare, page cache off",
        out=tmp / "ours-uncached",
        env={
            **env,
            **common,
            "TOPICSHARE_PAGE_CACHE_SECONDS": "0",
            "GUNICORN": str(ROOT / ".venv" / "bin" / "gunicorn"),
            "WSGI": "topicshare.wsgi",
            "APP_CWD": str(ROOT),
            "PAGES": str(pages),
            "PORT": "8349",
        },
    )
    member = measure_signed_in(email=SIGNED_IN, pages=MEMBER_PAGES, facts=facts, env=env)
    organiser = measure_signed_in(email=ORGANISER, pages=ORGANISER_PAGES, facts=facts, env=env)
    bare_pages = tmp / "bare.txt"
    bare_pages.write_text("bare Django view\t/\t-\n", encoding="utf-8")
    bare = measure(
        label="bare Django (hello_django.py)",
        out=tmp / "bare",
        env={
            **common,
            "GUNICORN": str(ROOT / ".venv" / "bin" / "gunicorn"),
            "WSGI": "hello_django",
            "APP_CWD": str(SHARED),
            "PAGES": str(bare_pages),
            "PORT": "8347",
        },
    )
    peer = None
    if not os.environ.get("COMPARE_SKIP_PRETALX") and (PRETALX_ROOT / "venv").exists():
        peer = measure(
            label="pretalx", out=tmp / "pretalx", env={**common, "ANCHOR_ROOT": str(PRETALX_ROOT)}
        )
    report(ours, bare, peer)
    report_signed_in(ours, uncached, member, organiser, peer)
    print(f"raw results in {tmp}")
    return 0


def report(ours: dict, bare: dict, peer: dict | None) -> None:
    ceiling = float(bare["rows"]["bare Django view"]["rps"])
    print()
    print(f"{'page':<24} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'of bare':>8}  vs pretalx")
    for label, _path, peer_label, target in OURS:
        row = ours["rows"][label]
        rps = float(row["rps"])
        versus = ""
        if peer:
            theirs = float(peer["rows"][peer_label]["rps"])
            ratio = rps / theirs if theirs else float("inf")
            verdict = "ok" if ratio >= target else f"MISSED (target {target}×)"
            versus = f"{ratio:6.1f}× {peer_label} ({theirs:.1f} req/s) {verdict}"
        print(
            f"{label:<24} {rps:>8.0f} {float(row['p50_ms']):>7.1f} {float(row['p99_ms']):>7.1f}"
            f" {100 * rps / ceiling:>7.0f}%  {versus}"
        )
        if int(row["non2xx3xx"]) or int(row["sock_errors"]) or row["status"] != "200":
            print(f"  !! {label}: status {row['status']}, errors {row['non2xx3xx']}")
    print(f"bare Django view: {ceiling:.0f} req/s, worker RSS {bare['worker_rss_mb']} MB")
    line = f"worker RSS: TopicShare {ours['worker_rss_mb']} MB"
    if peer:
        line += f", pretalx {peer['worker_rss_mb']} MB"
    print(line)


def report_signed_in(ours: dict, uncached: dict, member: dict, organiser: dict, peer) -> None:
    """One table: each page anonymous (page cache on: hits; off: rendered, with fragments),
    signed in (a member, an organiser: rendered for them, fragments from the cache), and the
    ratio of the signed-in figure to pretalx's comparable page measured in this run."""
    print()
    print("Signed in (../shared/bench/signed-in/measure.sh) and anonymous, req/s:")
    print(
        f"{'page':<26} {'anon hit':>9} {'anon miss':>9} {'signed-in':>9} {'p50':>9}"
        f"  {'pretalx page':<22} {'req/s':>6} {'ratio':>7} target"
    )
    anonymous = {label: label for label, *_rest in OURS}
    for rows, who in ((MEMBER_PAGES, member), (ORGANISER_PAGES, organiser)):
        for label, _path, peer_label, target in rows:
            hit = ours["rows"].get(anonymous.get(label, ""), {}).get("rps", "")
            miss = uncached["rows"].get(anonymous.get(label, ""), {}).get("rps", "")
            row = who.get(label)
            rps = float(row["rps"]) if row else 0.0
            theirs = float(peer["rows"][peer_label]["rps"]) if peer else 0.0
            ratio = rps / theirs if theirs else 0.0
            verdict = ("ok" if ratio >= target else "MISSED") if peer and row else "—"
            print(
                f"{label:<26} {_num(hit):>9} {_num(miss):>9} {rps:>9.0f} "
                f"{(row or {}).get('p50', '—'):>9}  {peer_label:<22} {theirs:>6.1f} "
                f"{ratio:>6.1f}× {target}× {verdict}"
            )
    print(
        "anon hit: whole-page cache hits (anonymous visitors). anon miss: every request"
        " rendered, the fragments from the cache. signed-in: every figure is a cache hit (no"
        " write during the run): home, sheet, sessions, a session and the library stored whole"
        " per role (the person's own parts filled in on every request); a topic, /me/, the"
        " group page, the profile and the organiser pages stored for that person under the"
        " data version (any change renders them afresh)."
    )


def _num(value: str) -> str:
    return f"{float(value):.0f}" if value else "—"


if __name__ == "__main__":
    sys.exit(main())

"""The simulated members of bench/mixed_load.py (locust, headless, started by that script).

Each simulated member acts like a browser: it GETs a page, submits one of the forms the page
offers (with the page's CSRF token and hidden fields), follows the redirect and reads the
flash message to learn whether it worked. What the members were told goes into a report
(MIXED_REPORT) that mixed_load.py compares with the database afterwards.

Needs MIXED_PLAN (what was seeded, the accounts and their devices, written by mixed_load.py)
and MIXED_REPORT (where to write the report). Refuses any host but 127.0.0.1.
"""

from __future__ import annotations

import collections
import itertools
import json
import os
import random
import re
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import gevent
from locust import HttpUser, between, events, task
from locust.clients import HttpSession
from locust.exception import StopUser

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.html_forms import html_forms  # noqa: E402

PLAN = json.loads(Path(os.environ["MIXED_PLAN"]).read_text())
REPORT = Path(os.environ["MIXED_REPORT"])
SESSION_COOKIE = "sessionid"
MESSAGE = re.compile(r'<li class="message ([a-z ]+)">([^<]*)</li>')
WAIT = [float(x) for x in os.environ.get("MIXED_WAIT", "2,6").split(",")]
# Of the writes, how many are a double tap (the same form sent twice at once, as an
# impatient thumb on a slow phone does): both answers count.
DOUBLE_TAPS = float(os.environ.get("MIXED_DOUBLE_TAPS", "0.1"))

# What happened, for the report: per request name, the statuses and times; per action, the
# outcomes; and what each account was told (for the accounting checks).
_lock = threading.Lock()
_times: dict[str, list[float]] = collections.defaultdict(list)
_statuses: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
_errors: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
_outcomes: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
_refusals: collections.Counter = collections.Counter()
_rsvp_net: collections.Counter = collections.Counter()  # "email session" → going(+1)/not(-1)
_group_net: collections.Counter = collections.Counter()  # "email topic" → join(+1)/leave(-1)
_group_unknown: set[str] = set()  # an answer we could not read: no accounting for these
_rsvp_unknown: set[str] = set()
_interest_last: dict[str, tuple[float, bool]] = {}  # "email topic" → (when, want)
_votes_told: set[str] = set()  # "email application": told "recorded"
_joined = [0]
_started = [0.0, 0.0]
_devices = {
    "member": itertools.cycle(PLAN["devices"]["member"]),
    "committee": itertools.cycle(PLAN["devices"]["committee"]),
}
_device_lock = threading.Lock()


def _name(method: str, path: str) -> str:
    """Requests grouped by endpoint: numbers become [id], the query string is dropped."""
    return f"{method} " + re.sub(r"/\d+(?=/|$|\.)", "/[id]", urlsplit(path).path)


@events.init.add_listener
def _refuse_other_hosts(environment, **kwargs):
    host = urlsplit(environment.host or "").hostname
    if host != "127.0.0.1":
        raise SystemExit(f"mixed load: refusing host {environment.host!r}; only 127.0.0.1")


@events.test_start.add_listener
def _start(environment, **kwargs):
    _started[0] = time.time()


@events.request.add_listener
def _record(request_type, name, response_time, response_length, response, exception, **kwargs):
    with _lock:
        status = getattr(response, "status_code", 0) or 0
        _times[name].append(response_time)
        _statuses[name][str(status)] += 1
        if exception is not None and not status:
            _errors[name][type(exception).__name__] += 1


@events.quitting.add_listener
def _write_report(environment, **kwargs):
    _started[1] = time.time()
    with _lock:
        report = {
            "started": _started[0],
            "stopped": _started[1],
            "times": _times,
            "statuses": {name: dict(counter) for name, counter in _statuses.items()},
            "connection_errors": {name: dict(counter) for name, counter in _errors.items()},
            "outcomes": {name: dict(counter) for name, counter in _outcomes.items()},
            "refusals": dict(_refusals.most_common()),
            "rsvp_net": {k: v for k, v in _rsvp_net.items() if k not in _rsvp_unknown},
            "group_net": {k: v for k, v in _group_net.items() if k not in _group_unknown},
            "group_unknown": sorted(_group_unknown),
            "joins_ok": _joined[0],
            "interest_last": {k: want for k, (_at, want) in _interest_last.items()},
            "votes_told": sorted(_votes_told),
        }
    REPORT.write_text(json.dumps(report))


def _outcome(action: str, result: str, refusal: str = "") -> None:
    with _lock:
        _outcomes[action][result] += 1
        if refusal:
            _refusals[f"{action}: {refusal}"] += 1


class Member(HttpUser):
    """A signed-in member: reads pages, RSVPs, joins and leaves groups, claims tasks, says
    “想听”. Some accounts are used on two devices at once (two simulated members), as a person
    with a phone and a laptop: their writes race each other."""

    wait_time = between(*WAIT)
    pool = "member"

    def on_start(self):
        if urlsplit(self.host).hostname != "127.0.0.1":
            raise StopUser
        self.mine: set[int] = set()  # the groups this device joined
        with _device_lock:
            device = next(_devices[self.pool])
        self.email = device["email"]
        if device.get("session"):
            # Signed in server-side (mixed_load.py made the session: the login form is rate
            # limited to 30 a minute per address, and every member here comes from 127.0.0.1).
            self.client.cookies.set(SESSION_COOKIE, device["session"], domain="127.0.0.1")
        else:
            self._login(device["password"])

    def _login(self, password: str) -> None:
        page = self._get("/accounts/login/")
        form = self._form(page.text, action_contains="/accounts/login/")
        if form is None:
            _outcome("login", "no form")
            raise StopUser
        data = form.data()
        data["login"], data["password"] = [self.email], [password]
        answer = self._request("POST", "/accounts/login/", data=data)
        if answer.status_code != 302:
            _outcome("login", f"status {answer.status_code}")
            raise StopUser
        _outcome("login", "ok")

    # --- Helpers ------------------------------------------------------------------------

    def _request(self, method: str, path: str, client: HttpSession | None = None, **kwargs):
        client = client or self.client
        response = client.request(
            method, path, name=_name(method, path), allow_redirects=False, **kwargs
        )
        # Production marks its cookies Secure, and this talks plain HTTP on 127.0.0.1: keep
        # sending them (requests would not; a browser on https would).
        for cookie in client.cookies:
            cookie.secure = False
        return response

    def _get(self, path: str, client: HttpSession | None = None):
        return self._request("GET", path, client)

    @staticmethod
    def _form(html: str, *, action_contains: str = "", button: str = ""):
        for form in html_forms(html):
            if action_contains and action_contains not in form.action:
                continue
            if button and not any(b.get("data-action") == button for b in form.buttons):
                continue
            return form
        return None

    @staticmethod
    def _forms_by_action(html: str) -> dict[str, object]:
        found = {}
        for form in html_forms(html):
            for button in form.buttons:
                if button.get("data-action"):
                    found.setdefault(button["data-action"], form)
        return found

    def _submit(self, form, extra: dict | None = None) -> list[tuple[str, str, str]]:
        """POST the form as a browser would, follow the redirect, read the flash message: one
        answer, or two for a double tap (a second tab of the same browser sends the same form
        at the same moment; it has its own flash messages). Each answer is (result, message,
        where it went): result is ok, refused or unknown."""
        data = form.data()
        for key, value in (extra or {}).items():
            data[key] = [value]
        if random.random() >= DOUBLE_TAPS:
            return [self._send(form.action, data, self.client)]
        twin = HttpSession(
            base_url=self.host, request_event=self.environment.events.request, user=self
        )
        twin.cookies.update(self.client.cookies)
        taps = [gevent.spawn(self._send, form.action, data, c) for c in (self.client, twin)]
        gevent.joinall(taps)
        return [tap.value if tap.successful() else ("unknown", "no answer", "") for tap in taps]

    def _send(self, action: str, data: dict, client: HttpSession) -> tuple[str, str, str]:
        answer = self._request("POST", action, client, data=data)
        if answer.status_code == 200:  # a form shown again with its errors
            errors = re.findall(r'<ul class="errorlist[^"]*">\s*<li>([^<]*)</li>', answer.text)
            return "refused", (errors[0] if errors else "form shown again"), ""
        if answer.status_code != 302:
            return "unknown", f"status {answer.status_code}", ""
        location = urlsplit(answer.headers.get("Location", "")).path
        page = self._get(location, client)
        if page.status_code != 200:
            return "unknown", f"after redirect: status {page.status_code}", location
        message = MESSAGE.search(page.text)
        if message is None:
            return "unknown", "no message", location
        kind, text = message.groups()
        return ("ok" if "success" in kind else "refused"), text.strip(), location

    # --- Reading ------------------------------------------------------------------------

    @task(10)
    def browse(self):
        path = random.choice(
            [
                "/",
                "/topics/",
                f"/topics/{random.choice(PLAN['browse_topics'])}/",
                "/sessions/",
                f"/sessions/{random.choice(PLAN['sessions'])}/",
                "/me/",
                "/library/",
            ]
        )
        self._get(path)

    # --- Writing ------------------------------------------------------------------------

    @task(4)
    def rsvp(self):
        """I'll be there / I can't come after all, on an upcoming session."""
        session = random.choice(PLAN["sessions"])
        page = self._get(f"/sessions/{session}/")
        forms = self._forms_by_action(page.text)
        action = "rsvp" if "rsvp" in forms else "unrsvp" if "unrsvp" in forms else None
        if action is None:
            _outcome("rsvp", "not offered")
            return
        key = f"{self.email} {session}"
        for result, message, _where in self._submit(forms[action]):
            _outcome(action, result, message if result != "ok" else "")
            with _lock:
                if result == "ok":
                    _rsvp_net[key] += 1 if action == "rsvp" else -1
                elif result == "unknown":
                    _rsvp_unknown.add(key)

    @task(4)
    def group(self):
        """Join a capped group, leave it, or wait for a place: what the topic page offers."""
        # Mostly one's own group, once in one: its tasks, or leaving it.
        mine = sorted(self.mine)
        topic = random.choice(mine if mine and random.random() < 0.6 else PLAN["groups"])
        page = self._get(f"/topics/{topic}/")
        forms = self._forms_by_action(page.text)
        if "join" in forms:
            action = "join"
        elif "leave" in forms:  # in the group: mostly work on its tasks, sometimes leave
            if random.random() >= 0.4:
                self._claim(topic)
                return
            action = "leave"
        elif "waitlist-join" in forms and random.random() < 0.5:
            action = "waitlist-join"
        elif "waitlist-leave" in forms and random.random() < 0.3:
            action = "waitlist-leave"
        else:
            _outcome("group", "waiting" if "waitlist-leave" in forms else "nothing done")
            return
        key = f"{self.email} {topic}"
        for result, message, where in self._submit(forms[action]):
            if action == "join" and where:
                # A join that worked goes to the group's page; one refused back to the topic.
                result = "ok" if where.endswith("/group/") else "refused"
            _outcome(action, result, message if result != "ok" else "")
            with _lock:
                if result == "unknown" and action in {"join", "leave"}:
                    _group_unknown.add(key)
                elif result == "ok" and action == "join":
                    _group_net[key] += 1
                    _joined[0] += 1
                    self.mine.add(topic)
                elif result == "ok" and action == "leave":
                    _group_net[key] -= 1
                    self.mine.discard(topic)

    def _claim(self, topic: int) -> None:
        """我来: take a task nobody has, on the group's page; or hand a task to someone in the
        group (the task's "Change" form), who may be leaving at that moment."""
        page = self._get(f"/topics/{topic}/group/")
        if random.random() < 0.3:
            moves = [
                form
                for form in html_forms(page.text)
                if any(b.get("data-action") == "task-move" for b in form.buttons)
            ]
            people = sorted(set(re.findall(r'<option value="(\d+)"', page.text)))
            if moves and people:
                for result, message, _where in self._submit(
                    random.choice(moves), {"assignee": random.choice(people)}
                ):
                    _outcome("assign", result, message if result != "ok" else "")
                return
        claims = [
            form
            for form in html_forms(page.text)
            if any(b.get("data-action") == "claim" for b in form.buttons)
        ]
        if not claims:
            _outcome("claim", "nothing to claim")
            return
        for result, message, _where in self._submit(random.choice(claims)):
            _outcome("claim", result, message if result != "ok" else "")

    @task(3)
    def want_to_hear(self):
        """“想听” and taking it back."""
        topic = random.choice(PLAN["wanted"])
        page = self._get(f"/topics/{topic}/")
        forms = self._forms_by_action(page.text)
        action = "want" if "want" in forms else "unwant" if "unwant" in forms else None
        if action is None:
            _outcome("want", "not offered")
            return
        asked = time.monotonic()
        for result, message, _where in self._submit(forms[action]):
            _outcome(action, result, message if result != "ok" else "")
            if result == "ok":
                key = f"{self.email} {topic}"
                with _lock:
                    if key not in _interest_last or _interest_last[key][0] < asked:
                        _interest_last[key] = (asked, action == "want")


class CommitteeMember(Member):
    """A committee member: everything a member does, and votes on open applications."""

    pool = "committee"
    fixed_count = int(os.environ.get("MIXED_COMMITTEE_USERS", "0"))

    @task(4)
    def vote(self):
        self._get("/committee/")
        application = random.choice(PLAN["applications"])
        page = self._get(f"/committee/{application}/")
        form = self._form(page.text, button="vote")
        if form is None:
            _outcome("vote", "not offered")
            return
        choice = random.choice(["approve", "approve", "reject", "abstain"])
        extra = {"choice": choice, "comment": random.choice(["", "讲得清楚。", "Good talk."])}
        if 'name="final"' in page.text and random.random() < 0.05:
            extra["final"] = "on"  # final: no more changes, the others' votes are shown
        for result, message, _where in self._submit(form, extra):
            _outcome("vote", result, message if result != "ok" else "")
            if result == "ok":
                with _lock:
                    _votes_told.add(f"{self.email} {application}")


if os.environ.get("MIXED_COMMITTEE_USERS", "0") == "0":
    del CommitteeMember

"""A member's own data over HTTP: download it, delete the account, and nothing is left behind.

    .venv/bin/python .ci/member_data_roundtrip.py           # small (CI), well under 90 s
    .venv/bin/python .ci/member_data_roundtrip.py --full    # about 10x the history (make faults)

MEMBER_DATA_SCALE (small | full) overrides the size.

Starts, as child processes it owns, a private redis-server and gunicorn
(topicshare.settings.production, plain HTTP on 127.0.0.1), with an SMTP sink (aiosmtpd, in
this process) as EMAIL_URL, on a throwaway PostgreSQL database (MEMBER_DATA_DATABASE_URL,
default postgres://postgres@127.0.0.1:5432/topicshare_member_data, dropped and re-created):

1. migrate, seed_demo, then ONE member with a long history, made through the project's
   services and factories: an application (with slides) the committee voted on, then the
   committee role and ballots of their own on others' applications; proposals, a presented
   talk with slides in the library, groups (one full, with someone waiting), tasks, 想听,
   RSVPs and attendance of many past sessions, RSVPs to sessions to come, notices (some that
   name other members and their addresses) — and the other members' rows around it: their
   ballots on the same applications, their RSVPs and attendance on the same sessions, notices
   to them that name the member;
2. the member signs in through the real login form (allauth, CSRF) and downloads their data
   as the profile page's button does: the zip's data.json must parse and hold the member's
   rows (the count of every section is compared with the database's), the uploaded files
   with the checksums they were stored with, and no other member's e-mail address or ballot;
   a second download at once is refused (the limit is counted in the shared cache);
3. the account is deleted through the real flow: the delete page (a wrong password first,
   then the right one), the link read from the e-mail the SMTP sink received, its page, the
   confirmation; then the last e-mail must arrive, signing in again must fail, no text or
   JSON column of any table may contain the member's old name, e-mail addresses or WeChat ID,
   the kept rows (attendance, presented talks, audit events, decided ballots) point at the
   neutral "Former member N", places and RSVPs still to come are gone (the one waiting moved
   into the group), other members' rows are untouched, and the organisers' inbox shows the
   deletion.

Prints the figures (rows by section, archive size, export and deletion seconds, rows kept
under the neutral name, rows erased, leftovers found) and exits non-zero on any problem,
with the tails of the logs.
"""

from __future__ import annotations

import argparse
import email
import email.policy
import hashlib
import io
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path

from aiosmtpd.controller import Controller

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / ".ci"))

from compose_smoke import SmokeError, recreate_database, tail  # noqa: E402

from tests.processes import Service, free_port  # noqa: E402

VENV_BIN = REPO / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")
DATABASE_URL = os.environ.get(
    "MEMBER_DATA_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/topicshare_member_data"
)
# The member's history: past sessions attended, sessions to come, notices, own proposals,
# groups joined, 想听, and other members around them.
SCALES = {
    "small": {"past": 20, "future": 3, "notices": 100, "proposals": 3, "groups": 3,
              "wants": 3, "others": 30, "ballots": 2},
    "full": {"past": 250, "future": 20, "notices": 3000, "proposals": 20, "groups": 25,
             "wants": 30, "others": 300, "ballots": 12},
}  # fmt: skip
ORGANISER = ("organiser@demo.topicshare.local", "topicshare-demo")
PASSWORD = "correct-horse-battery-42"  # noqa: S105 — tests/factories.py's, the member's
NAME, EMAIL, ALT, WECHAT = (
    "张伟明 Zhang Weiming",
    "weiming.zhang@roundtrip.example.org",
    "zwm.alt@roundtrip.example.org",
    "wx_zwm_roundtrip",
)
OTHER_BALLOT = "BALLOT-OF-OTHER-{n}"  # the comments of other voters: never in the archive

SEED = r"""
import datetime, hashlib, json, os
from allauth.account.models import EmailAddress
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from library.models import LibraryItem
from members.admission import application_submit, vote_cast
from members.models import Application, AuditEvent, User
from members.roles import Role
from members.services import role_set
from sessions.models import (
    RSVP, Attendance, Participation, SessionPresenter, Task, Topic, TopicStatus as S, Track,
    WaitlistEntry, WeeklySession,
)
from sessions.topics.services import group_join, task_claim, topic_interest_set, topic_propose
from sessions.weekly.scheduling import rsvp_set
from tests.factories import TopicFactory, UserFactory
from topicshare.notifications.models import Notification, NotificationKind, NotificationOptOut

scale = json.loads(os.environ["MD_SCALE"])
NAME, EMAIL, ALT, WECHAT = json.loads(os.environ["MD_PERSON"])
OTHER_BALLOT = os.environ["MD_OTHER_BALLOT"]
now = timezone.now()
track = Track.objects.order_by("pk").first()
organiser = User.objects.get(email="organiser@demo.topicshare.local")
committee_demo = User.objects.get(email="committee@demo.topicshare.local")

# Other members: a few real accounts (committee, applicants), many plain ones in bulk.
voters = [UserFactory(display_name=f"评审 Voter {n}", email=f"voter{n}@roundtrip.example.org",
                      role=Role.COMMITTEE) for n in range(2)] + [committee_demo]
applicants = [UserFactory(display_name=f"申请 Applicant {n}",
                          email=f"applicant{n}@roundtrip.example.org")
              for n in range(scale["ballots"])]
others = User.objects.bulk_create([
    User(email=f"other{n}@roundtrip.example.org", display_name=f"同学 Other {n}",
         wechat_id=f"wx_other_{n}", password="!")
    for n in range(scale["others"])
])
EmailAddress.objects.bulk_create([
    EmailAddress(user=o, email=o.email, verified=True, primary=True) for o in others
])
member_group, _ = Group.objects.get_or_create(name=Role.MEMBER.value)
User.groups.through.objects.bulk_create(
    [User.groups.through(user_id=o.pk, group_id=member_group.pk) for o in others]
)

# The member: first an applicant, whose application the committee votes on.
me = UserFactory(display_name=NAME, email=EMAIL, wechat_id=WECHAT, role=Role.AUDIENCE)
EmailAddress.objects.create(user=me, email=ALT, verified=False, primary=False)
files = {}
review = b"%PDF-1.4\n" + os.urandom(30_000) + b"\n%%EOF\n"
application = application_submit(
    applicant=me, motivation=f"I, {NAME}, would like to present BERT.",
    paper_title="BERT: Pre-training of Deep Bidirectional Transformers",
    paper_url="https://arxiv.org/abs/1810.04805", preferred_dates="Any Tuesday",
    slides=SimpleUploadedFile("review.pdf", review, content_type="application/pdf"),
)
files[f"files/applications/{application.pk}-review.pdf"] = hashlib.sha256(review).hexdigest()
ballots = 0
for n, voter in enumerate(voters):
    vote_cast(application=application, voter=voter, choice=["approve", "reject", "abstain"][n],
              comment=OTHER_BALLOT.format(n=ballots))
    ballots += 1
Application.objects.filter(pk=application.pk).update(
    status=Application.Status.APPROVED, decided_at=now, feedback="Welcome aboard, well argued."
)
AuditEvent.objects.create(
    actor=None, action=AuditEvent.Action.DECISION, application=application, subject_user=me,
    details={"outcome": "approved", "approve": 1, "reject": 1, "abstain": 1},
)
role_set(user=me, role=Role.COMMITTEE)  # a member, and on the committee since

# Ballots of the member on others' applications (the even ones still open, the odd ones
# decided), next to other voters' ballots on the same applications.
for n, applicant in enumerate(applicants):
    target = application_submit(applicant=applicant, motivation="m", paper_title=f"Paper {n}",
                                paper_url=f"https://arxiv.org/abs/2010.{11929 + n}")
    vote_cast(application=target, voter=me, choice="approve", comment=f"Strong, says {NAME}")
    for voter in voters[:2]:
        vote_cast(application=target, voter=voter, choice="reject",
                  comment=OTHER_BALLOT.format(n=ballots))
        ballots += 1
    if n % 2:
        Application.objects.filter(pk=target.pk).update(status=Application.Status.APPROVED,
                                                        decided_at=now)

# Proposals; one presented, with its session, the member presenting and slides in the library.
proposals = [
    topic_propose(proposer=me, track=track, title=f"{NAME} proposes: idea {n}",
                  summary=f"A summary by {NAME} ({EMAIL}; also {ALT.upper()}, WeChat {WECHAT}).",
                  paper_links=["https://arxiv.org/abs/1706.03762"])
    for n in range(scale["proposals"])
]
presented = proposals[0]
Topic.objects.filter(pk=presented.pk).update(status=S.PRESENTED)
talk = WeeklySession.objects.create(topic=presented, track=track, status="done",
                                    start=now - datetime.timedelta(days=400))
SessionPresenter.objects.create(session=talk, user=me, start=talk.start)
slides = b"%PDF-1.4\n" + os.urandom(80_000) + b"\n%%EOF\n"
item = LibraryItem.objects.create(title=presented.title, domain=track, session=talk)
item.presenters.add(me)
item.slides_name = "bert-talk.pdf"
item.slides_file.save("bert-talk.pdf", ContentFile(slides), save=True)
files[f"files/library/{item.pk}-bert-talk.pdf"] = hashlib.sha256(slides).hexdigest()

# Groups: the first with one place (the member's), someone waiting behind; a task each.
groups = []
for n in range(scale["groups"]):
    topic = TopicFactory(track=track, proposer=others[n % len(others)], status=S.RECRUITING,
                         capacity=1 if n == 0 else 5, title=f"Group topic {n}")
    group_join(topic=topic, user=me)
    task = Task.objects.create(topic=topic, title=f"Survey the baselines {n}")
    task_claim(task=task, by=me)
    groups.append(topic)
waiting = others[-1]
WaitlistEntry.objects.create(topic=groups[0], user=waiting)
Participation.objects.bulk_create([
    Participation(topic=groups[n], user=others[-2 - n], role=Participation.Role.PARTICIPANT)
    for n in range(1, len(groups))
])
for n in range(scale["wants"]):
    wanted = TopicFactory(track=track, proposer=others[(n + 1) % len(others)],
                          title=f"A topic to hear {n}")
    topic_interest_set(topic=wanted, user=me, want=True)

# Past sessions: the member RSVPed and attended each; so did other members.
past_topics = Topic.objects.bulk_create([
    Topic(title=f"Past talk {n}", track=track, proposer=others[n % len(others)],
          status=S.PRESENTED, summary="s")
    for n in range(scale["past"])
])
past = WeeklySession.objects.bulk_create([
    WeeklySession(topic=t, track=track, status="done",
                  start=now - datetime.timedelta(days=n + 1, hours=1))
    for n, t in enumerate(past_topics)
])
RSVP.objects.bulk_create([RSVP(session=s, user=me) for s in past])
Attendance.objects.bulk_create([
    Attendance(session=s, user=me, how="self" if n % 2 else "organiser",
               recorded_by=None if n % 2 else organiser)
    for n, s in enumerate(past)
])
crowd = others[:10]
RSVP.objects.bulk_create([RSVP(session=s, user=o) for s in past for o in crowd])
Attendance.objects.bulk_create([Attendance(session=s, user=o, how="self") for s in past
                                for o in crowd])
# Sessions to come: the member RSVPs through the service, others too.
future_topics = Topic.objects.bulk_create([
    Topic(title=f"Coming talk {n}", track=track, proposer=others[n % len(others)],
          status=S.SCHEDULED, summary="s")
    for n in range(scale["future"])
])
future = WeeklySession.objects.bulk_create([
    WeeklySession(topic=t, track=track, status="scheduled",
                  start=now + datetime.timedelta(days=n + 1, hours=3))
    for n, t in enumerate(future_topics)
])
for s in future:
    rsvp_set(session=s, user=me, going=True)
RSVP.objects.bulk_create([RSVP(session=s, user=o) for s in future for o in crowd])

# Notices: to the member (some naming other members and their addresses), and to others
# naming the member.
user_type = ContentType.objects.get_for_model(User)
Notification.objects.bulk_create([
    Notification(
        kind=NotificationKind.DAY_BEFORE, subject_type=user_type, subject_id=me.pk,
        occasion=f"roundtrip-{n}", recipient=me, language="zh-hans",
        title=f"Tomorrow: past talk {n}",
        body_text=(f"Hi {NAME}, {others[n % len(others)].display_name} "
                   f"({others[n % len(others)].email}) will be there too." if n % 3 == 0
                   else f"Hi {NAME}, see you tomorrow."),
        due_at=now - datetime.timedelta(hours=n), next_attempt_at=now,
        status=Notification.Status.SENT if n % 10 else Notification.Status.PENDING,
        sent_at=now - datetime.timedelta(hours=n) if n % 10 else None,
    )
    for n in range(scale["notices"])
])
Notification.objects.bulk_create([
    Notification(
        kind=NotificationKind.DAY_BEFORE, subject_type=user_type, subject_id=o.pk,
        occasion=f"roundtrip-about-{n}", recipient=o, language="zh-hans",
        title=f"{NAME} joined your group", body_text=f"{NAME} ({EMAIL}, WeChat {WECHAT}) joined.",
        due_at=now, next_attempt_at=now, status=Notification.Status.SENT, sent_at=now,
    )
    for n, o in enumerate(crowd)
])
NotificationOptOut.objects.create(user=me, kind=NotificationKind.PROMOTION)
from sessions.weekly.calendar import calendar_token_for
calendar = f"/sessions/calendar/me/{calendar_token_for(user=me)}.ics"  # my own calendar feed
print("SEEDJSON " + json.dumps({
    "me": me.pk, "files": files, "proposals": [t.pk for t in proposals], "calendar": calendar,
    "groups": [g.pk for g in groups], "waiting": waiting.pk,
    "future": [s.pk for s in future], "past": len(past), "ballots_of_others": ballots,
}))
"""

# Rows of every table that point at a user, by the foreign keys (and many-to-many tables).
COUNT_ROWS = r"""
import json, os
from django.apps import apps
from django.contrib.auth import get_user_model
User = get_user_model()
pk = int(os.environ["MD_ME"])
rows = {}
for model in apps.get_models(include_auto_created=True):
    for f in model._meta.get_fields():
        if f.is_relation and f.many_to_one and f.concrete and f.related_model is User:
            n = model._base_manager.filter(**{f.attname: pk}).count()
            if n:
                rows[f"{model._meta.label}.{f.name}"] = n
"""

BEFORE = (
    COUNT_ROWS
    + r"""
from members.models import Vote
from sessions.models import RSVP, Attendance
from topicshare.notifications.models import Notification
emails = sorted(
    {e.lower() for e in User.objects.exclude(pk=pk).values_list("email", flat=True)}
    | {e.lower() for e in apps.get_model("account", "EmailAddress").objects.exclude(user_id=pk)
       .values_list("email", flat=True)}
)
ballots = sorted(
    c for c in Vote.objects.exclude(voter_id=pk).values_list("comment", flat=True) if c
)
mine = sorted([v.application_id, v.choice] for v in Vote.objects.filter(voter_id=pk))
others = {
    "rsvps": RSVP.objects.exclude(user_id=pk).count(),
    "attendance": Attendance.objects.exclude(user_id=pk).count(),
    "votes": Vote.objects.exclude(voter_id=pk).count(),
    "notices": Notification.objects.exclude(recipient_id=pk).count(),
}
print("ROWSJSON " + json.dumps({"rows": rows, "other_emails": emails, "other_ballots": ballots,
                                "my_votes": mine, "others": others}))
"""
)

AFTER = (
    COUNT_ROWS  # noqa: S608 — Python for manage.py shell; its SQL quotes every name
    + r"""
from django.db import connection
from django.utils import timezone
from members.models import AuditEvent, Vote
from sessions.models import (RSVP, Attendance, Participation, SessionPresenter, Topic,
                             TopicInterest, WaitlistEntry)
from sessions.topics.rules import CLOSED
from topicshare.notifications.models import Notification
from library.models import LibraryItem
strings = json.loads(os.environ["MD_STRINGS"])
seed = json.loads(os.environ["MD_SEED"])
user = User.objects.get(pk=pk)
# Every text and JSON column of every table in the database (the models' and any other).
with connection.cursor() as cursor:
    cursor.execute(
        "SELECT c.table_name, c.column_name FROM information_schema.columns c "
        "JOIN information_schema.tables t USING (table_schema, table_name) "
        "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' "
        "AND c.data_type IN ('text', 'character varying', 'character', 'json', 'jsonb') "
        "ORDER BY 1, 2"
    )
    columns = cursor.fetchall()
    patterns = ["%" + s.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                + "%" for s in strings]
    leftovers = []
    for table, column in columns:
        q = connection.ops.quote_name
        cursor.execute(
            f"SELECT count(*) FROM {q(table)} WHERE lower({q(column)}::text) LIKE ANY(%s)",
            [patterns],
        )
        found = cursor.fetchone()[0]
        if found:
            leftovers.append(f"{table}.{column}: {found} rows")
    tables = len({t for t, _c in columns})
now = timezone.now()
checks = {
    "user": [user.display_name, user.email, user.wechat_id, user.is_active,
             user.has_usable_password(), user.deleted_at is not None, user.name],
    "attendance_kept": Attendance.objects.filter(user_id=pk).count(),
    "past_rsvps_kept": RSVP.objects.filter(user_id=pk, session__start__lt=now).count(),
    "future_rsvps_left": RSVP.objects.filter(user_id=pk, session__start__gt=now).count(),
    "presenting_kept": SessionPresenter.objects.filter(user_id=pk).count(),
    "talks_kept": LibraryItem.objects.filter(presenters=pk).count(),
    "proposals_kept": Topic.objects.filter(proposer_id=pk).count(),
    "audit_events_kept": AuditEvent.objects.filter(actor_id=pk).count()
    + AuditEvent.objects.filter(subject_user_id=pk).count(),
    "decided_votes_kept": sorted([v.choice, v.comment] for v in Vote.objects.filter(voter_id=pk)),
    "open_places_left": Participation.objects.filter(
        user_id=pk, role="participant").exclude(topic__status__in=CLOSED).count(),
    "waitlist_left": WaitlistEntry.objects.filter(user_id=pk).count(),
    "wants_left": TopicInterest.objects.filter(user_id=pk).exclude(
        topic__status__in=CLOSED).count(),
    "waiting_moved_in": Participation.objects.filter(
        topic_id=seed["groups"][0], user_id=seed["waiting"], role="participant").exists(),
    "notices_left": Notification.objects.filter(recipient_id=pk).count(),
    "others": {
        "rsvps": RSVP.objects.exclude(user_id=pk).count(),
        "attendance": Attendance.objects.exclude(user_id=pk).count(),
        "votes": Vote.objects.exclude(voter_id=pk).count(),
        "notices": Notification.objects.exclude(recipient_id=pk).count(),
    },
}
print("ROWSJSON " + json.dumps({"rows": rows, "leftovers": leftovers, "tables": tables,
                                "columns": len(columns), "checks": checks}))
"""
)


# --- The SMTP sink ------------------------------------------------------------------------


class Sink:
    """A real SMTP server on 127.0.0.1 that keeps every message (recipients, subject, text)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages: list[tuple[list[str], str, str]] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 — aiosmtpd's name
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        body = message.get_body(preferencelist=("plain",))
        text = body.get_content() if body is not None else ""
        with self.lock:
            self.messages.append(
                ([r.lower() for r in envelope.rcpt_tos], str(message["Subject"]), text)
            )
        return "250 Message accepted"

    def to(self, address: str) -> list[tuple[str, str]]:
        with self.lock:
            return [(s, t) for rcpts, s, t in self.messages if address.lower() in rcpts]

    def wait(self, address: str, count: int, timeout: float = 15) -> list[tuple[str, str]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.to(address)
            if len(got) >= count:
                return got
            time.sleep(0.1)
        raise SmokeError(f"{count} e-mails to {address} expected, {len(self.to(address))} came")


# --- HTTP ---------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode(errors="replace")


@dataclass
class Browser:
    """Keeps cookies by hand: production marks them Secure, and this talks plain HTTP."""

    base: str
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, path: str, data: dict | None = None, timeout: float = 60) -> Response:
        headers = {"User-Agent": "member_data_roundtrip.py", "Referer": self.base + path}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            body = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        request = urllib.request.Request(self.base + path, data=body, headers=headers)
        try:
            with _opener.open(request, timeout=timeout) as response:
                status, response_headers, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as exc:
            status, response_headers, raw = exc.code, exc.headers, exc.read()
        except OSError as exc:
            raise SmokeError(f"{'POST' if data else 'GET'} {path}: no answer ({exc})") from exc
        for header in response_headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or not morsel.value and name != "django_language":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        if status >= 500:
            raise SmokeError(f"{'POST' if data else 'GET'} {path}: {status}\n{raw[-2000:]!r}")
        return Response(status, dict(response_headers), raw)

    def csrf(self, path: str) -> str:
        page = self.request(path)
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if page.status != 200 or not found:
            raise SmokeError(f"GET {path}: {page.status}, no form with a CSRF token")
        return found.group(1)

    def post_form(self, path: str, data: dict, form_page: str | None = None) -> Response:
        token = self.csrf(form_page or path)
        return self.request(path, {**data, "csrfmiddlewaretoken": token})

    def login(self, address: str, password: str) -> Response:
        return self.post_form("/accounts/login/", {"login": address, "password": password})

    def signed_in(self) -> bool:
        return self.request("/profile/").status == 200


def redis_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


# --- The run ------------------------------------------------------------------------------


def check(problems: list[str], ok: bool, message: str) -> None:
    if not ok:
        problems.append(message)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="about ten times the history")
    options = parser.parse_args()
    scale_name = os.environ.get("MEMBER_DATA_SCALE") or ("full" if options.full else "small")
    scale = SCALES[scale_name]
    sys.stdout.reconfigure(line_buffering=True)
    started = time.monotonic()
    tmp = Path(tempfile.mkdtemp(prefix="member-data-roundtrip-"))
    log = tmp / "manage.log"
    sink = Sink()
    web_port, redis_port = free_port(), free_port()
    base = f"http://127.0.0.1:{web_port}"
    redis_url = f"redis://127.0.0.1:{redis_port}/0"
    env = {
        **os.environ,
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "DJANGO_SETTINGS_MODULE": "topicshare.settings.production",
        "DJANGO_SECRET_KEY": "member-data-dummy-" + secrets.token_urlsafe(48),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_SECURE_SSL_REDIRECT": "False",
        "DATABASE_URL": DATABASE_URL,
        "REDIS_URL": redis_url,
        "REDIS_CACHE_URL": redis_url,  # these would win over REDIS_URL if set by the caller
        "CELERY_BROKER_URL": redis_url,
        "EMAIL_URL": f"smtp://127.0.0.1:{sink.port}",
        "TOPICSHARE_SITE_URL": base,
        "TOPICSHARE_VAR_DIR": str(tmp / "var"),
        "MEDIA_ROOT": str(tmp / "var" / "media"),
        "PRIVATE_MEDIA_ROOT": str(tmp / "var" / "private"),
        "STATIC_ROOT": str(tmp / "staticfiles"),
        "XDG_RUNTIME_DIR": str(tmp),
        "PYTHONUNBUFFERED": "1",
        "MD_SCALE": json.dumps(scale),
        "MD_PERSON": json.dumps([NAME, EMAIL, ALT, WECHAT]),
        "MD_OTHER_BALLOT": OTHER_BALLOT,
    }
    for name in ("S3_BUCKET", "S3_PRIVATE_BUCKET"):
        env.pop(name, None)  # uploads on the local disk, under tmp
    local_env = {**env, "DJANGO_SETTINGS_MODULE": "topicshare.settings.local"}

    def manage(argv: list[str], environment: dict[str, str] = env, timeout: float = 600):
        begun = time.monotonic()
        try:
            result = subprocess.run(
                [PYTHON, "manage.py", *argv],
                cwd=REPO,
                env=environment,
                capture_output=True,
                text=True,
                timeout=timeout,
                stdin=subprocess.DEVNULL,
            )
        except subprocess.TimeoutExpired as exc:
            raise SmokeError(f"manage.py {argv[0]} took longer than {timeout:.0f} s") from exc
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(
                f"$ manage.py {argv[0]}  ({result.returncode}, "
                f"{time.monotonic() - begun:.1f} s)\n{result.stdout}{result.stderr}"
            )
        if result.returncode != 0:
            raise SmokeError(
                f"manage.py {argv[0]} failed with status {result.returncode}:\n"
                f"{(result.stderr or result.stdout)[-3000:]}"
            )
        return result.stdout

    def shell(code: str, prefix: str, environment: dict[str, str]) -> dict:
        out = manage(["shell", "-c", code], environment)
        line = next((ln for ln in out.splitlines() if ln.startswith(prefix + " ")), None)
        if line is None:
            raise SmokeError(f"manage.py shell printed no {prefix}:\n{out[-2000:]}")
        return json.loads(line.removeprefix(prefix + " "))

    services: list[Service] = []
    collect = collect_log = None
    problems: list[str] = []
    ok = False
    try:
        (tmp / "var" / "media").mkdir(parents=True)
        sink.controller.start()
        recreate_database(DATABASE_URL)
        redis = Service(
            "redis",
            [
                "redis-server",
                "--port",
                str(redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(tmp),
            ],
            env,
            tmp / "redis.log",
        )
        services.append(redis)
        redis_ready = time.monotonic() + 15
        while not redis_ping(redis_port):
            if not redis.running() or time.monotonic() > redis_ready:
                raise SmokeError(f"the private redis-server did not start:\n{tail(redis.log_path)}")
            time.sleep(0.1)
        # collectstatic (production's manifest; the slowest step) runs beside the seeding.
        collect_log = open(tmp / "collectstatic.log", "wb")  # noqa: SIM115 — closed below
        collect = subprocess.Popen(
            [PYTHON, "manage.py", "collectstatic", "--noinput"], cwd=REPO, env=env,
            stdin=subprocess.DEVNULL, stdout=collect_log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        manage(["migrate", "--noinput"])
        manage(["seed_demo"], local_env)  # it refuses production settings (demo passwords)
        seed_started = time.monotonic()
        seed = shell(SEED, "SEEDJSON", local_env)
        me = seed["me"]
        env["MD_ME"] = local_env["MD_ME"] = str(me)
        before = shell(BEFORE, "ROWSJSON", local_env)
        print(
            f"member data round trip ({scale_name}): database "
            f"{DATABASE_URL.rsplit('/', 1)[1]} recreated, logs in {tmp}\n"
            f"  seeded in {time.monotonic() - seed_started:.1f} s: member #{me} with "
            f"{sum(before['rows'].values())} rows in {len(before['rows'])} relations "
            f"({seed['past']} past sessions attended, {len(seed['future'])} to come, "
            f"{before['rows'].get('notifications.Notification.recipient', 0)} notices); "
            f"{len(before['other_emails'])} other addresses, "
            f"{len(before['other_ballots'])} other ballots around"
        )

        collected = collect.wait(timeout=300)
        if collected != 0:
            raise SmokeError(f"collectstatic failed:\n{tail(tmp / 'collectstatic.log')}")
        web = Service(
            "gunicorn",
            [
                str(VENV_BIN / "gunicorn"),
                "topicshare.wsgi:application",
                "--bind",
                f"127.0.0.1:{web_port}",
                "--workers",
                "2",
                "--timeout",
                "120",
                "--access-logfile",
                "-",
            ],
            env,
            tmp / "gunicorn.log",
        )
        services.append(web)
        deadline = time.monotonic() + 60
        while True:
            if not web.running() or not redis.running():
                raise SmokeError("gunicorn or redis exited at start")
            try:
                if Browser(base).request("/healthz", timeout=5).status == 200:
                    break
            except SmokeError:
                pass
            if time.monotonic() > deadline:
                raise SmokeError("gunicorn did not answer /healthz within 60 s")
            time.sleep(0.3)

        # -- download my data ------------------------------------------------------------
        browser = Browser(base)
        browser.login(EMAIL, PASSWORD)
        if not browser.signed_in():
            raise SmokeError("the member could not sign in through the login form")
        export_started = time.monotonic()
        response = browser.post_form("/profile/data/", {}, form_page="/profile/")
        export_seconds = time.monotonic() - export_started
        if response.status != 200 or response.headers.get("Content-Type") != "application/zip":
            raise SmokeError(
                f"the download answered {response.status}, "
                f"{response.headers.get('Content-Type')}: {response.text[:500]}"
            )
        disposition = response.headers.get("Content-Disposition", "")
        check(
            problems,
            disposition.startswith('attachment; filename="topicshare-my-data-'),
            f"Content-Disposition: {disposition!r}",
        )
        archive = zipfile.ZipFile(io.BytesIO(response.body))
        data = json.loads(archive.read("data.json"))
        names = set(archive.namelist())
        text = json.dumps(data, ensure_ascii=False).lower() + "\n" + "\n".join(names).lower()
        check(problems, data.get("account") == me, f"data.json's account is {data.get('account')}")
        check(problems, data["profile"]["email"] == EMAIL, "the profile's e-mail is not mine")
        check(problems, data["profile"]["wechat_id"] == WECHAT, "the WeChat ID is missing")
        check(
            problems,
            sorted(a["email"] for a in data["profile"]["email_addresses"]) == sorted([EMAIL, ALT]),
            "the e-mail addresses are not both mine",
        )
        rows = before["rows"]
        expected = {
            "rsvps": rows.get("topic_sessions.RSVP.user", 0),
            "attendance": rows.get("topic_sessions.Attendance.user", 0),
            "notices_to_me": rows.get("notifications.Notification.recipient", 0),
            "tasks": rows.get("topic_sessions.Task.assignee", 0),
            "want_to_hear": rows.get("topic_sessions.TopicInterest.user", 0),
            "presenting": rows.get("topic_sessions.SessionPresenter.user", 0),
            "applications": rows.get("members.Application.applicant", 0),
            "my_ballots": rows.get("members.Vote.voter", 0),
            "groups": rows.get("topic_sessions.Participation.user", 0)
            + rows.get("topic_sessions.WaitlistEntry.user", 0),
            "proposals": rows.get("topic_sessions.Topic.proposer", 0),
        }
        for section, count in expected.items():
            got = len(data.get(section, []))
            check(problems, got == count, f"section {section}: {got} rows, the database {count}")
        check(
            problems,
            len(data["attendance"]) == seed["past"],
            f"attendance: {len(data['attendance'])} rows, {seed['past']} sessions attended",
        )
        check(problems, len(data["library"]["talks_i_presented"]) == 1, "the talk is missing")
        for name, digest in seed["files"].items():
            if name not in names:
                problems.append(f"the archive lacks {name}")
            elif hashlib.sha256(archive.read(name)).hexdigest() != digest:
                problems.append(f"{name}: not the bytes that were uploaded")
        check(
            problems, data.get("files_missing") == [], f"files missing: {data.get('files_missing')}"
        )
        leaked = [address for address in before["other_emails"] if address in text]
        check(problems, not leaked, f"other members' e-mail addresses in the archive: {leaked[:5]}")
        ballots = [c for c in before["other_ballots"] if c.lower() in text]
        check(problems, not ballots, f"other members' ballots in the archive: {ballots[:5]}")
        check(
            problems,
            sorted([b["application"], b["vote"]] for b in data["my_ballots"]) == before["my_votes"],
            "my_ballots is not exactly the member's own votes",
        )
        check(
            problems,
            all(
                e["by_me"]
                for e in data["audit_trail"]
                if e["action"] in ("vote_cast", "vote_changed", "vote_final")
            ),
            "the audit trail holds someone else's vote",
        )
        tallies = [
            e for e in data["audit_trail"] if set(e["details"]) & {"approve", "reject", "abstain"}
        ]
        check(problems, not tallies, f"a tally in the audit trail: {tallies[:2]}")
        sections = {
            key: len(value)
            for key, value in data.items()
            if isinstance(value, list) and key != "files_missing"
        }
        sections["library.talks_i_presented"] = len(data["library"]["talks_i_presented"])
        files_in = sorted(n for n in names if n.startswith("files/"))
        print(
            f"  export: {response.status}, {len(response.body) / 1024:.0f} KiB zip, "
            f"{export_seconds:.2f} s; {sum(sections.values())} rows in data.json by section: "
            + ", ".join(f"{k} {v}" for k, v in sorted(sections.items()) if v)
        )
        print(
            f"  files: {len(files_in)} ({', '.join(files_in)}), sha256 equal to the uploads; "
            f"0 of {len(before['other_emails'])} other addresses, 0 of "
            f"{len(before['other_ballots'])} other ballots, no tally"
            if not problems
            else "  (problems found in the export; listed below)"
        )
        again = browser.post_form("/profile/data/", {}, form_page="/profile/")
        check(problems, again.status == 302, f"a second download at once: {again.status}")

        # Public pages that show the member (and the page cache behind them), read by a visitor
        # now and again after the deletion.
        visitor = Browser(base)
        public = [f"/topics/{pk}/" for pk in seed["proposals"]] + ["/topics/", "/library/"]
        shown = [path for path in public if NAME in visitor.request(path).text]
        feed = visitor.request(seed["calendar"])
        check(
            problems,
            feed.status == 200 and b"BEGIN:VEVENT" in feed.body,
            f"the member's calendar feed before the deletion: {feed.status}",
        )
        check(
            problems,
            f"/topics/{seed['proposals'][0]}/" in shown,
            f"the member's name is not on their topic's page before the deletion: {shown}",
        )

        # -- delete my account -----------------------------------------------------------
        deletion_started = time.monotonic()
        wrong = browser.post_form("/profile/delete/", {"password": "not my password"})
        check(problems, wrong.status == 400, f"a wrong password: {wrong.status}")
        check(problems, not sink.to(EMAIL), "a wrong password sent an e-mail")
        asked = browser.post_form("/profile/delete/", {"password": PASSWORD})
        if asked.status != 302:
            raise SmokeError(f"the deletion request answered {asked.status}: {asked.text[:800]}")
        (subject, body), *_rest = sink.wait(EMAIL, 1)
        found = re.search(r"https?://[^/\s]+(/profile/delete/[^/\s]+/)", body)
        if not found:
            raise SmokeError(f"no confirmation link in the e-mail {subject!r}:\n{body[:1000]}")
        link = found.group(1)
        organiser = Browser(base, {"django_language": "en"})
        organiser.login(*ORGANISER)
        if not organiser.signed_in():
            raise SmokeError("the organiser could not sign in")
        inbox = organiser.request("/staff/inbox/")
        check(
            problems,
            inbox.status == 200 and f"{NAME} asked to delete their account" in inbox.text,
            "the inbox does not show the request",
        )
        page = browser.request(link)
        check(
            problems,
            page.status == 200 and 'data-role="confirm-form"' in page.text,
            f"the link's page: {page.status}",
        )
        confirm_started = time.monotonic()
        done = browser.post_form(link, {})
        confirm_seconds = time.monotonic() - confirm_started
        if done.status != 200 or 'data-role="deleted"' not in done.text:
            raise SmokeError(f"the confirmation answered {done.status}: {done.text[:800]}")
        mails = sink.wait(EMAIL, 2)
        deletion_seconds = time.monotonic() - deletion_started
        check(problems, len(mails) == 2, f"{len(mails)} e-mails to the member, expected 2")
        check(problems, not sink.to(ALT), "an e-mail went to the unverified address")
        check(problems, not browser.signed_in(), "still signed in after the deletion")
        again = Browser(base)
        again.login(EMAIL, PASSWORD)
        check(problems, not again.signed_in(), "the old e-mail and password still sign in")
        check(problems, browser.request(link).status == 400, "the link works a second time")
        inbox = organiser.request("/staff/inbox/")
        check(
            problems,
            f"Former member {me} deleted their account" in inbox.text,
            "the inbox does not show the deletion",
        )

        time.sleep(1)  # each process reads the page cache's version at most twice a second
        feed = visitor.request(seed["calendar"])
        check(problems, feed.status == 404, f"the old calendar feed answers {feed.status}")
        for path in public:
            page = visitor.request(path)
            check(problems, page.status == 200, f"GET {path} after the deletion: {page.status}")
            named = [x for x in (NAME, EMAIL, ALT, WECHAT) if x.lower() in page.text.lower()]
            check(problems, not named, f"GET {path} after the deletion still shows {named}")

        # -- what is left in the database -----------------------------------------------
        local_env["MD_STRINGS"] = json.dumps([NAME, EMAIL, ALT, WECHAT])
        local_env["MD_SEED"] = json.dumps(seed)
        after = shell(AFTER, "ROWSJSON", local_env)
        c = after["checks"]
        check(
            problems,
            c["user"][:6] == ["", f"former-member-{me}@deleted.invalid", "", False, False, True],
            f"the account row: {c['user']}",
        )
        check(
            problems,
            c["attendance_kept"] == seed["past"],
            f"attendance kept: {c['attendance_kept']} of {seed['past']}",
        )
        check(
            problems,
            c["past_rsvps_kept"] == seed["past"],
            f"past RSVPs kept: {c['past_rsvps_kept']} of {seed['past']}",
        )
        check(
            problems,
            c["presenting_kept"] == 1 and c["talks_kept"] == 1,
            "the presented talk is not kept under the neutral name",
        )
        check(
            problems,
            c["proposals_kept"] == scale["proposals"],
            f"proposals kept: {c['proposals_kept']}",
        )
        check(problems, c["audit_events_kept"] > 0, "no audit event kept")
        check(
            problems,
            c["decided_votes_kept"] == [["approve", ""]] * (scale["ballots"] // 2),
            f"the member's ballots now: {c['decided_votes_kept']}",
        )
        for key in (
            "future_rsvps_left",
            "open_places_left",
            "waitlist_left",
            "wants_left",
            "notices_left",
        ):
            check(problems, c[key] == 0, f"{key}: {c[key]}")
        check(problems, c["waiting_moved_in"], "the one waiting did not move into the group")
        # Other members' rows stay; new notices may come (the one waiting is told they moved in).
        unchanged = {k: v for k, v in c["others"].items() if k != "notices"}
        check(
            problems,
            unchanged == {k: before["others"][k] for k in unchanged}
            and c["others"]["notices"] >= before["others"]["notices"],
            f"other members' rows changed: {before['others']} -> {c['others']}",
        )
        for leftover in after["leftovers"]:
            problems.append(f"left behind: {leftover}")
        kept, before_total = sum(after["rows"].values()), sum(before["rows"].values())
        print(
            f"  deletion: wrong password refused, link e-mailed, confirmed "
            f"({confirm_seconds:.2f} s; the whole flow {deletion_seconds:.1f} s), the last "
            f"e-mail arrived, sign-in refused, the inbox shows 'Former member {me} deleted "
            f"their account', the calendar feed 404; {len(public)} public pages "
            f"({len(shown)} showed the name before) no longer name the member"
        )
        print(
            f"  rows pointing at the account: {before_total} before, {kept} kept under "
            f"'Former member {me}' ("
            + ", ".join(f"{k} {v}" for k, v in sorted(after["rows"].items()))
            + f"), {before_total - kept} erased or freed; {len(seed['future'])} RSVPs to come "
            f"and {len(seed['groups'])} places freed, the one waiting moved in"
        )
        print(
            f"  leftovers: {len(after['leftovers'])} (the old name, 2 addresses and the WeChat "
            f"ID searched in {after['columns']} text/JSON columns of {after['tables']} tables)"
        )
        if problems:
            raise SmokeError(f"{len(problems)} problems:\n    " + "\n    ".join(problems))
        ok = True
    except (SmokeError, KeyError, ValueError, zipfile.BadZipFile, subprocess.TimeoutExpired) as exc:
        # (a missing section or a broken zip or JSON is a failure like any other)
        print(
            f"FAILED: {type(exc).__name__ + ': ' if not isinstance(exc, SmokeError) else ''}{exc}"
        )
        for path in (log, tmp / "collectstatic.log", tmp / "gunicorn.log", tmp / "redis.log"):
            print(f"--- {path.name}\n{tail(path, 40)}")
    finally:
        if collect is not None and collect.poll() is None:
            collect.kill()  # the run failed before it was needed
            collect.wait(timeout=10)
        if collect_log is not None:
            collect_log.close()
        for service in reversed(services):
            service.stop()
        sink.controller.stop()
    verdict = "OK" if ok else "FAILED"
    print(f"member data round trip ({scale_name}): {verdict} in {time.monotonic() - started:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

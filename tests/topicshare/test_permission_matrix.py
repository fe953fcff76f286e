"""The permission matrix, generated from the URLconf.

Every named URL pattern of the project (get_resolver() walked recursively, namespaces
included) × the five visitors (anonymous, audience, member, committee, organiser) → the
status a GET must answer. A URL name without an expectation fails the completeness test, and
so does an expectation for a name that is gone: new pages cannot slip through unchecked.

- The Django admin is checked as a group: the site's own pages and our custom views are in
  EXPECTED by name; for every registered model ADMIN_MODELS says who sees its changelist,
  and a model registered in the admin but missing there fails too.
- allauth's pages are third-party: they are in EXPECTED, but checked loosely (ANY: anything
  below 500), except that its signed-in pages must send anonymous visitors to the login.
- Every 200 page is also scanned for secrets planted in the data (a meeting link, a group
  chat link, a WeChat ID, a members-only item, an application's motivation …) that the
  visitor may not see.
- POST: every non-admin URL name is either in POST_CASES (it writes: each visitor who may
  not do it must get the expected refusal and the database must not change; the visitor who
  may gets it done, which proves the payload would have worked) or in POST_HARMLESS (it does
  not write on POST: a bare POST by anonymous and audience changes nothing and never 5xx).

Outcomes: an int is the status code; "->name" is a 302 to the URL named `name` (query
string ignored); ANY is anything below 500.
"""

import datetime
import hashlib
import logging
import types
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.exceptions import NoReverseMatch, Resolver404
from django.utils import timezone

from library.models import LibraryItem
from members.admission import application_submit, vote_cast
from members.api_tokens import api_token_create
from members.ledger.attendance_import import attendance_import_upload
from members.ledger.models import LedgerPolicy
from members.models import AdmissionSettings
from members.roles import Role
from sessions.models import (
    CoPresenterInvitation,
    Participation,
    Season,
    SessionStatus,
    Task,
    Topic,
    TopicStatus,
    WeeklySession,
)
from sessions.weekly.calendar import calendar_token_for
from sessions.weekly.scheduling import free_slots, preferred_slot
from tests.factories import PASSWORD, TopicFactory, TrackFactory, UserFactory
from topicshare.forum.models import ForumSettings, GroupChange
from topicshare.notifications.models import NotificationKind
from topicshare.notifications.outbox import unsubscribe_token

VISITORS = ("anonymous", "audience", "member", "committee", "organiser")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

OK, FORBIDDEN, NOT_FOUND, NOT_ALLOWED = 200, 403, 404, 405
LOGIN = "->account_login"
ADMIN_LOGIN = "->admin:login"
ANY = "any status below 500"


def to(name: str) -> str:
    return f"->{name}"


# Rows: (anonymous, audience, member, committee, organiser)
PUBLIC = (OK, OK, OK, OK, OK)
SIGNED_IN = (LOGIN, OK, OK, OK, OK)
ORGANISERS = (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK)
POST_ONLY = (LOGIN, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED, NOT_ALLOWED)
ADMIN_COMMITTEE = (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, OK, OK)
ADMIN_ORGANISERS = (ADMIN_LOGIN, ADMIN_LOGIN, ADMIN_LOGIN, FORBIDDEN, OK)
ALLAUTH_PUBLIC = (ANY, ANY, ANY, ANY, ANY)
ALLAUTH_SIGNED_IN = (LOGIN, ANY, ANY, ANY, ANY)

EXPECTED = {
    # --- the site -------------------------------------------------------------------------
    "home": PUBLIC,
    "join": PUBLIC,
    "healthz": PUBLIC,
    "set_language": (NOT_ALLOWED,) * 5,
    "unsubscribe": PUBLIC,  # the signed token is the credential
    "dashboard": ORGANISERS,
    "inbox": ORGANISERS,
    # The study group checklist; the study group's QR code (members; the world has none: 404).
    "onboarding": ORGANISERS,
    "onboarding-tick": POST_ONLY,
    # Outgoing webhooks for integrations.
    "webhooks": ORGANISERS,
    "webhook-add": ORGANISERS,
    "webhook-edit": ORGANISERS,
    "webhook-action": POST_ONLY,
    "study-group-qr": (LOGIN, FORBIDDEN, NOT_FOUND, NOT_FOUND, NOT_FOUND),
    # --- admission (流入) ------------------------------------------------------------------
    "join-apply": SIGNED_IN,
    "join-status": SIGNED_IN,
    "application-slides": (LOGIN, FORBIDDEN, FORBIDDEN, OK, OK),  # applicant + committee
    "join-withdraw": POST_ONLY,
    # /committee/: the review committee (organisers too) outside the admin.
    "members:committee": (LOGIN, FORBIDDEN, FORBIDDEN, OK, OK),
    "members:committee-application": (LOGIN, FORBIDDEN, FORBIDDEN, OK, OK),
    "members:committee-step-aside": POST_ONLY,
    "members:committee-feedback": POST_ONLY,
    "members:committee-close": POST_ONLY,
    # --- topic sheet ------------------------------------------------------------------------
    "topics:sheet": PUBLIC,
    "topics:export": ORGANISERS,
    "topics:new": SIGNED_IN,
    "topics:detail": PUBLIC,
    "topics:edit": ORGANISERS,  # and the proposer, who is none of the five
    "topics:transition": POST_ONLY,
    "topics:interest": POST_ONLY,
    "topics:waitlist-join": POST_ONLY,
    "topics:waitlist-leave": POST_ONLY,
    "topics:join": POST_ONLY,
    "topics:leave": POST_ONLY,
    "topics:group": ORGANISERS,  # and the group, which none of the other four is in
    # The group's QR image: the world's topic has none, so the organiser gets a 404.
    "topics:group-qr": (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, NOT_FOUND),
    "topics:task-move": POST_ONLY,
    "topics:task-claim": POST_ONLY,
    "topics:task-finish": POST_ONLY,
    "topics:invitation": POST_ONLY,  # answered by the invited person (POST_CASES)
    "api-topics": PUBLIC,
    # --- weekly sessions --------------------------------------------------------------------
    "sessions:upcoming": PUBLIC,
    "sessions:past": PUBLIC,
    "sessions:detail": PUBLIC,  # the meeting link only for the signed-in (secret scan)
    "sessions:rsvp": POST_ONLY,
    "sessions:check-in": POST_ONLY,
    "sessions:manage": ORGANISERS,
    # --- promotion (宣传): the poster is made to be shared; the pack is the organisers' ---
    "session-poster": PUBLIC,
    "topic-poster": PUBLIC,
    "session-promote": ORGANISERS,
    "topic-promote": ORGANISERS,
    "session-draft": POST_ONLY,
    "topic-draft": POST_ONLY,
    # the JS-SDK's share data: 404 while the official account is not configured
    "wechat-jssdk-config": (404,) * 5,
    "sessions:schedule-index": ORGANISERS,
    "sessions:schedule": ORGANISERS,
    "sessions:calendar-all": PUBLIC,
    "sessions:calendar-track": PUBLIC,
    "sessions:calendar-track-old": PUBLIC,
    "sessions:calendar-event": PUBLIC,  # the meeting link only for the signed-in (secret scan)
    "sessions:calendar-personal": PUBLIC,  # the secret token is the credential
    "sessions:calendar-token": (NOT_ALLOWED,) * 5,  # require_POST runs before login_required
    "api-sessions": PUBLIC,
    # --- library (this item is members-only; EXTRA_CASES check a public one) ---------------
    "library:index": PUBLIC,
    "library:open-source": PUBLIC,
    "library:feed": PUBLIC,
    "library:feed-atom": PUBLIC,
    "library:detail": (NOT_FOUND, NOT_FOUND, OK, OK, OK),
    "library:slides": (NOT_FOUND, NOT_FOUND, OK, OK, OK),
    # hidden from the audience (404); members see it but are not its presenters (403)
    "library:materials": (LOGIN, NOT_FOUND, FORBIDDEN, FORBIDDEN, OK),
    "api-library-items": PUBLIC,
    # --- /api/v1/ (tests/topicshare/api/: tokens, CSRF, bodies) ----------------------------
    # Reads are open: each answer holds what the caller may see (the secrets scan below).
    **dict.fromkeys(
        [
            f"api-v1:{name}"
            for name in (
                "openapi-json",
                "openapi-view",
                "tracks",
                "seasons",
                "topics",
                "topic",
                "sessions",
                "session",
                "library_items",
                "projects",
                # POST /api/v1/topics/ proposes; a GET of that URL is the sheet.
                "topic_create",
            )
        ],
        PUBLIC,
    ),  # fmt: skip
    # ninja's own root of the API: nothing there.
    "api-v1:api-root": (NOT_FOUND,) * 5,
    # Writes only: a GET is not allowed, whoever asks.
    **dict.fromkeys(
        [
            f"api-v1:{name}"
            for name in (
                "rsvp_create",
                "rsvp_delete",
                "check_in",
                "group_create",
                "group_delete",
                "want_create",
                "want_delete",
                "task_claim_api",
                "task_finish_api",
            )
        ],
        (NOT_ALLOWED,) * 5,
    ),  # fmt: skip
    # --- members, season review (流出) --------------------------------------------------------
    "profile": SIGNED_IN,
    # Personal API tokens: POST only, one's own (someone else's: 404).
    "api-token-create": POST_ONLY,
    "api-token-revoke": POST_ONLY,
    # A member's own data: the download (POST, the signed-in person's only), the deletion
    # request, and its e-mailed link (the token is the credential: a forged one is 400).
    "data-export": POST_ONLY,
    "account-delete": SIGNED_IN,
    "account-delete-confirm": (400,) * 5,
    "me": SIGNED_IN,
    "ledger:my-standing": SIGNED_IN,
    "follow": SIGNED_IN,
    "ledger:exemption-requests": (LOGIN, FORBIDDEN, FORBIDDEN, FORBIDDEN, OK),
    "ledger:exemption-request-answer": POST_ONLY,
    "members:notifications": POST_ONLY,
    "members:detail": SIGNED_IN,  # the WeChat ID only for the person and organisers (scan)
    # The co-presenter picker's search (JSON): names of verified members, never addresses.
    "members:search": SIGNED_IN,
    "ledger:season-review-current": (LOGIN, *(FORBIDDEN,) * 3, to("ledger:season-review")),
    "ledger:season-review": ORGANISERS,
    "ledger:season-review-csv": ORGANISERS,
    # Attendance from the meeting's participant list (the world's upload of it).
    "ledger:attendance-import": ORGANISERS,
    "ledger:attendance-import-columns": ORGANISERS,
    "ledger:attendance-import-preview": ORGANISERS,
    # --- allauth (third-party, loosely) ------------------------------------------------------
    "account_login": ALLAUTH_PUBLIC,
    "account_logout": ALLAUTH_PUBLIC,
    "account_inactive": ALLAUTH_PUBLIC,
    "account_signup": ALLAUTH_PUBLIC,
    "account_reauthenticate": ALLAUTH_SIGNED_IN,
    # Re-authentication by a code mailed to the account's own address (allauth 65.22+):
    # signed-in only; the confirm page without a pending code sends back to the request page.
    # What a POST may do there: tests/members/test_reauthentication.py.
    "account_request_reauthentication_code": (LOGIN, OK, OK, OK, OK),
    "account_confirm_reauthentication_code": (
        LOGIN,
        *(to("account_request_reauthentication_code"),) * 4,
    ),
    "account_email": ALLAUTH_SIGNED_IN,
    "account_email_verification_sent": ALLAUTH_PUBLIC,
    "account_change_password": ALLAUTH_SIGNED_IN,
    "account_set_password": ALLAUTH_SIGNED_IN,
    "account_reset_password": ALLAUTH_PUBLIC,
    "account_confirm_login_code": ALLAUTH_SIGNED_IN,
    "account_confirm_email": ALLAUTH_PUBLIC,
    "account_reset_password_from_key_done": ALLAUTH_PUBLIC,
    "account_reset_password_from_key": ALLAUTH_PUBLIC,
    "account_reset_password_done": ALLAUTH_PUBLIC,
    "socialaccount_login_cancelled": ALLAUTH_PUBLIC,
    "socialaccount_login_error": ALLAUTH_PUBLIC,
    "socialaccount_signup": ALLAUTH_PUBLIC,
    "socialaccount_connections": ALLAUTH_SIGNED_IN,
    # --- the admin: the site's pages and our own views (models: ADMIN_MODELS) ----------------
    "admin:index": ADMIN_COMMITTEE,
    # The admin signs in through allauth (its rate limits): no form of its own. The signed-in
    # who are not staff are refused (allauth would send them straight back: a loop).
    "admin:login": (LOGIN, FORBIDDEN, FORBIDDEN, to("admin:index"), to("admin:index")),
    # Non-staff go to the index (Django's admin_view); staff get allauth's logout page.
    "admin:logout": (to("admin:index"),) * 3 + (OK, OK),
    # allauth's password page (rate limited) instead of the admin's.
    "admin:password_change": (ADMIN_LOGIN,) * 3 + (to("account_change_password"),) * 2,
    "admin:password_change_done": (ADMIN_LOGIN,) * 3 + (to("admin:index"),) * 2,
    "admin:jsi18n": ADMIN_COMMITTEE,
    # Without its query parameters the autocomplete refuses everyone.
    "admin:autocomplete": (ADMIN_LOGIN,) * 3 + (FORBIDDEN, FORBIDDEN),
    "admin:view_on_site": (ADMIN_LOGIN,) * 3 + (NOT_FOUND, NOT_FOUND),  # Topic has no URL
    "admin:app_list": ADMIN_COMMITTEE,  # the "members" section
    # The vote and stepping aside are fields of the application's change form; closing the
    # vote asks once, on its own page (feedback for the applicant, an organiser's override).
    "admin:members_application_close": ADMIN_COMMITTEE,
    "admin:topic_sessions_topic_import": ADMIN_ORGANISERS,
    "admin:library_libraryitem_import": ADMIN_ORGANISERS,
    # A few object pages of models whose access differs between committee and organisers.
    "admin:members_application_change": ADMIN_COMMITTEE,
    "admin:members_application_history": ADMIN_COMMITTEE,
    "admin:members_user_change": ADMIN_ORGANISERS,
    "admin:auth_user_password_change": ADMIN_ORGANISERS,  # UserAdmin's own view
    "admin:topic_sessions_topic_change": ADMIN_ORGANISERS,
    "admin:topic_sessions_weeklysession_change": ADMIN_ORGANISERS,
    "admin:library_libraryitem_change": ADMIN_ORGANISERS,
    "admin:topic_sessions_season_change": ADMIN_ORGANISERS,
}

# Every model registered in the admin → who sees its changelist. The committee works in the
# admission section only (members.backends.RoleBackend, members.rules); organisers see all.
ADMIN_MODELS = {
    "members.application": ADMIN_COMMITTEE,
    "members.user": ADMIN_ORGANISERS,
    "members.admissionsettings": ADMIN_ORGANISERS,
    "members.auditevent": ADMIN_ORGANISERS,
    "members.apitoken": ADMIN_ORGANISERS,
    "ledger.ledgerpolicy": ADMIN_ORGANISERS,
    "ledger.ledgerexemption": ADMIN_ORGANISERS,
    "ledger.exemptionrequest": ADMIN_ORGANISERS,
    "topic_sessions.track": ADMIN_ORGANISERS,
    "topic_sessions.season": ADMIN_ORGANISERS,
    "topic_sessions.topic": ADMIN_ORGANISERS,
    "topic_sessions.weeklysession": ADMIN_ORGANISERS,
    "library.libraryitem": ADMIN_ORGANISERS,
    "library.tag": ADMIN_ORGANISERS,
    "library.opensourceproject": ADMIN_ORGANISERS,
    "library.concept": ADMIN_ORGANISERS,
    "forum.forumsettings": ADMIN_ORGANISERS,
    "topicshare.heartbeat": ADMIN_ORGANISERS,
    "topic_sessions.reminderrule": ADMIN_ORGANISERS,
    "notifications.chatwebhook": ADMIN_ORGANISERS,
    "notifications.deliverylane": ADMIN_ORGANISERS,
    "notifications.notification": ADMIN_ORGANISERS,
    "notifications.notificationoptout": ADMIN_ORGANISERS,
    "notifications.webhookendpoint": ADMIN_ORGANISERS,
    "notifications.webhookdelivery": ADMIN_ORGANISERS,
    "auth.group": ADMIN_ORGANISERS,
    "account.emailaddress": ADMIN_ORGANISERS,
    "socialaccount.socialapp": ADMIN_ORGANISERS,
    "socialaccount.socialtoken": ADMIN_ORGANISERS,
    "socialaccount.socialaccount": ADMIN_ORGANISERS,
}
ADMIN_MODEL_VIEWS = ("changelist", "add", "change", "delete", "history")

# URL patterns without a name (they cannot be reversed): their route → (a path, the row).
UNNAMED = {
    # Serves anything under MEDIA_ROOT to anyone; the test storage is in memory, so only the
    # route's answer is checked here (group QR codes and library slides are stored there).
    "media/<path:path>": ("/media/topics/qr/nothing-here.png", (NOT_FOUND,) * 5),
    "accounts/social/login/cancelled/": ("/accounts/social/login/cancelled/", ALLAUTH_PUBLIC),
    "accounts/social/login/error/": ("/accounts/social/login/error/", ALLAUTH_PUBLIC),
    "accounts/social/signup/": ("/accounts/social/signup/", ALLAUTH_PUBLIC),
    "accounts/social/connections/": ("/accounts/social/connections/", ALLAUTH_PUBLIC),
}
# The admin's unnamed patterns (its catch-all, /<object_id>/ → /change/ redirects).
ADMIN_UNNAMED_PREFIX = "admin/"

# URL arguments by name: a World attribute (its pk if it is a model), or "=literal".
ARGS = {
    "api-v1:topic": {"pk": "topic"},
    "api-v1:session": {"pk": "session"},
    **dict.fromkeys(
        ["api-v1:rsvp_create", "api-v1:rsvp_delete", "api-v1:check_in"], {"pk": "session"}
    ),
    **dict.fromkeys(
        ["api-v1:group_create", "api-v1:group_delete", "api-v1:want_create", "api-v1:want_delete"],
        {"pk": "topic"},
    ),
    **dict.fromkeys(
        ["api-v1:task_claim_api", "api-v1:task_finish_api"], {"pk": "topic", "task_pk": "task"}
    ),  # fmt: skip
    "application-slides": {"pk": "application"},
    "join-withdraw": {"pk": "application"},
    "api-token-revoke": {"pk": "api_token"},
    "account-delete-confirm": {"token": "=forged-link"},
    "members:committee-application": {"pk": "application"},
    "members:committee-step-aside": {"pk": "application"},
    "members:committee-feedback": {"pk": "application"},
    "members:committee-close": {"pk": "application"},
    "unsubscribe": {"token": "unsubscribe_token"},
    "onboarding-tick": {"pk": "group_change"},
    "webhook-edit": {"pk": "webhook_endpoint"},
    "webhook-action": {"pk": "webhook_endpoint", "action": "=rotate"},
    "topics:detail": {"pk": "topic"},
    "topics:edit": {"pk": "topic"},
    "topics:transition": {"pk": "topic"},
    "topics:interest": {"pk": "topic"},
    "topics:waitlist-join": {"pk": "topic"},
    "topics:waitlist-leave": {"pk": "topic"},
    "topics:join": {"pk": "topic"},
    "topics:leave": {"pk": "topic"},
    "topics:group": {"pk": "topic"},
    "topics:group-qr": {"pk": "topic"},
    "topics:task-move": {"pk": "topic", "task_pk": "task"},
    "topics:task-claim": {"pk": "topic", "task_pk": "task"},
    "topics:task-finish": {"pk": "topic", "task_pk": "task"},
    "topics:invitation": {"pk": "invitation"},
    "sessions:detail": {"pk": "session"},
    "sessions:rsvp": {"pk": "session"},
    "sessions:check-in": {"pk": "session"},
    "sessions:manage": {"pk": "session"},
    "session-poster": {"pk": "session"},
    "session-promote": {"pk": "session"},
    "session-draft": {"pk": "session"},
    "topic-poster": {"pk": "topic"},
    "topic-draft": {"pk": "topic"},
    "topic-promote": {"pk": "topic"},
    "sessions:schedule": {"topic_pk": "ready_topic"},
    "sessions:calendar-track": {"slug": "track.slug"},
    "sessions:calendar-track-old": {"slug": "track.slug"},
    "sessions:calendar-event": {"pk": "session"},
    "sessions:calendar-personal": {"token": "calendar_token"},
    "library:detail": {"pk": "item"},
    "library:slides": {"pk": "item"},
    "library:materials": {"pk": "item"},
    "members:detail": {"pk": "proposer"},
    "ledger:season-review": {"pk": "season"},
    "ledger:exemption-request-answer": {"pk": "exemption_request"},
    "ledger:season-review-csv": {"pk": "season"},
    "ledger:attendance-import": {"pk": "session"},
    "ledger:attendance-import-columns": {"pk": "session", "token": "attendance_import.token"},
    "ledger:attendance-import-preview": {"pk": "session", "token": "attendance_import.token"},
    "account_confirm_email": {"key": "=no-such-key"},
    "account_reset_password_from_key": {"uidb36": "=zz", "key": "=no-such-key"},
    "admin:view_on_site": {"content_type_id": "topic_content_type", "object_id": "topic"},
    "admin:app_list": {"app_label": "=members"},
    "admin:members_application_close": {"pk": "application"},
    "admin:members_application_change": {"object_id": "application"},
    "admin:members_application_history": {"object_id": "application"},
    "admin:members_user_change": {"object_id": "proposer"},
    "admin:auth_user_password_change": {"id": "proposer"},
    "admin:topic_sessions_topic_change": {"object_id": "topic"},
    "admin:topic_sessions_weeklysession_change": {"object_id": "session"},
    "admin:library_libraryitem_change": {"object_id": "item"},
    "admin:topic_sessions_season_change": {"object_id": "season"},
}

# The same names with other objects: (name, args, row).
EXTRA_CASES = [
    ("library:detail", {"pk": "public_item"}, PUBLIC),
    ("library:slides", {"pk": "public_item"}, PUBLIC),
    ("library:materials", {"pk": "public_item"}, ORGANISERS),  # and its presenters
    # The committee has no other section than "members": no library section for it.
    ("admin:app_list", {"app_label": "=library"}, ADMIN_ORGANISERS[:3] + (NOT_FOUND, OK)),
    ("sessions:calendar-personal", {"token": "=not-a-token"}, (NOT_FOUND,) * 5),
    # Proposers may edit their topic on the site; a committee member's own topic stays out
    # of reach in the admin (ModelAdmin asks for the model permission, not the object's).
    ("admin:topic_sessions_topic_change", {"object_id": "committee_topic"}, ADMIN_ORGANISERS),
    ("unsubscribe", {"token": "=forged"}, (NOT_FOUND,) * 5),
]

# Markers planted in the data → the visitors who may read them on any page. Organisers see
# everything (the admin shows it all).
SECRET = "7f3a"
SECRETS = {
    f"https://meeting.example.org/room-{SECRET}": {"audience", "member", "committee", "organiser"},
    f"https://chat.example.org/group-{SECRET}": {"organiser"},  # and the group
    f"wxid{SECRET}proposer": {"organiser"},  # and the person
    f"Members-only talk {SECRET}": {"member", "committee", "organiser"},
    f"Motivation {SECRET}": {"committee", "organiser"},  # and the applicant
    # The secret ballot: none of the five has cast a final vote, so no page shows a vote.
    f"Vote comment {SECRET}": set(),
    f"proposer-{SECRET}@example.org": {"organiser"},  # and the person
    # Invited to co-present, not accepted yet: listed nowhere but on the edit form.
    f"Invitee {SECRET}": {"organiser"},  # and the proposer, and the person
}


# --- the URLconf ---------------------------------------------------------------------------


def url_patterns() -> list[tuple[str | None, str]]:
    """(name with its namespaces or None, route) of every pattern, includes walked."""

    def walk(resolver, namespaces, prefix):
        for pattern in resolver.url_patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                inner = [*namespaces, pattern.namespace] if pattern.namespace else namespaces
                yield from walk(pattern, inner, route)
            elif isinstance(pattern, URLPattern):
                yield (":".join([*namespaces, pattern.name]) if pattern.name else None), route

    return list(walk(get_resolver(), [], ""))


def url_names() -> set[str]:
    return {name for name, _route in url_patterns() if name}


def registered_admin_models() -> dict[str, str]:
    """label → "admin:<app>_<model>" prefix of its generated URL names."""
    return {
        model._meta.label_lower: f"admin:{model._meta.app_label}_{model._meta.model_name}"
        for model in admin.site._registry
    }


def admin_generated_names() -> set[str]:
    return {
        f"{prefix}_{view}"
        for prefix in registered_admin_models().values()
        for view in ADMIN_MODEL_VIEWS
    }


# --- the data ------------------------------------------------------------------------------


def build_world(audience, member, committee, organiser) -> types.SimpleNamespace:
    now = timezone.now()
    # Singletons that pages create on first use: made here, so that a POST that only renders
    # a page does not count as a change.
    for singleton in (ForumSettings, AdmissionSettings, LedgerPolicy):
        singleton.load()
    track = TrackFactory(slug="nlp", weekday=5, local_time=datetime.time(20, 30))
    season = Season.objects.create(label="Topic 8", order=8, is_current=True)
    proposer = UserFactory(
        role=Role.MEMBER, email=f"proposer-{SECRET}@example.org", wechat_id=f"wxid{SECRET}proposer"
    )
    participant = UserFactory(role=Role.MEMBER)
    # Recruiting, members only: audience may not join; the group sees the chat link.
    topic = TopicFactory(
        track=track,
        proposer=proposer,
        season=season,
        status=TopicStatus.RECRUITING,
        members_only=True,
        group_chat_link=f"https://chat.example.org/group-{SECRET}",
    )
    Participation.objects.create(topic=topic, user=participant, role=Participation.Role.PARTICIPANT)
    task = Task.objects.create(topic=topic, title="复现实验")
    # On the organisers' study group checklist, with the WeChat ID.
    group_change = GroupChange.objects.create(
        user=proposer, change=GroupChange.Change.ADD, reason="admission"
    )
    invitee = UserFactory(role=Role.MEMBER, display_name=f"Invitee {SECRET}")
    invitation = CoPresenterInvitation.objects.create(
        topic=topic, invitee=invitee, invited_by=proposer
    )
    ready_topic = TopicFactory(track=track, season=season, status=TopicStatus.READY)
    committee_topic = TopicFactory(track=track, season=season, proposer=committee)
    # A session running now (check-in is open), with a meeting link for the signed-in only.
    session = WeeklySession.objects.create(
        topic=TopicFactory(track=track, season=season, status=TopicStatus.SCHEDULED),
        track=track,
        start=now - datetime.timedelta(minutes=10),
        status=SessionStatus.SCHEDULED,
        meeting_url=f"https://meeting.example.org/room-{SECRET}",
    )
    # The meeting's participant list, uploaded and waiting for the organiser's confirmation.
    attendance_import = attendance_import_upload(
        session=session,
        by=organiser,
        name="participants.csv",
        data=f"姓名,邮箱,参会时长\n提案人,{proposer.email},60分钟\n".encode(),
    ).draft
    item = LibraryItem.objects.create(
        title=f"Members-only talk {SECRET}",
        season=season,
        domain=track,
        visibility=LibraryItem.Visibility.MEMBERS,
    )
    public_item = LibraryItem.objects.create(title="Public talk", season=season, domain=track)
    for shelved in (item, public_item):
        shelved.slides_file.save("slides.pdf", ContentFile(PDF))
        shelved.presenters.set([proposer])
    applicant = UserFactory(role=Role.AUDIENCE)
    application = application_submit(
        applicant=applicant,
        motivation=f"Motivation {SECRET}: I read NLP papers every week and want to present.",
        paper_title="Attention Is All You Need",
        paper_url="https://arxiv.org/abs/1706.03762",
        slides=SimpleUploadedFile("s.pdf", PDF, "application/pdf"),
    )
    vote_cast(
        application=application,
        voter=UserFactory(role=Role.COMMITTEE),
        choice="approve",
        comment=f"Vote comment {SECRET}",
    )
    from members.ledger.models import ExemptionRequest

    exemption_request = ExemptionRequest.objects.create(
        user=UserFactory(role=Role.MEMBER), season=season, reason=f"Abroad {SECRET}"
    )
    api_token, _raw = api_token_create(user=proposer, name="Script", scope="write")
    from topicshare.notifications.models import WebhookEndpoint
    from topicshare.notifications.outgoing import webhook_endpoint_save

    webhook_endpoint = webhook_endpoint_save(
        endpoint=WebhookEndpoint(url="https://127.0.0.1:9/hook", events=["topic.accepted"])
    )
    return types.SimpleNamespace(
        now=now,
        api_token=api_token,
        webhook_endpoint=webhook_endpoint,
        track=track,
        season=season,
        exemption_request=exemption_request,
        proposer=proposer,
        participant=participant,
        topic=topic,
        task=task,
        invitee=invitee,
        invitation=invitation,
        group_change=group_change,
        ready_topic=ready_topic,
        committee_topic=committee_topic,
        session=session,
        attendance_import=attendance_import,
        item=item,
        public_item=public_item,
        applicant=applicant,
        application=application,
        unsubscribe_token=unsubscribe_token(user_id=proposer.pk, kind=NotificationKind.PROMOTION),
        calendar_token=calendar_token_for(user=proposer),
        topic_content_type=ContentType.objects.get_for_model(Topic).pk,
        anonymous=None,
        audience=audience,
        member=member,
        committee=committee,
        organiser=organiser,
    )


@pytest.fixture
def world(audience, member, committee, organiser):
    return build_world(audience, member, committee, organiser)


@pytest.fixture(autouse=True)
def _quiet_refusals():
    """Django logs every 403/404/405 with a traceback; hundreds of expected refusals make the
    output unreadable (and slow). Server errors (ERROR) are still logged."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


def lookup(world, spec: str):
    if spec.startswith("="):
        return spec[1:]
    value = world
    for part in spec.split("."):
        value = getattr(value, part)
    return value.pk if hasattr(value, "pk") else value


def url_for(world, name: str, args: dict[str, str] | None = None) -> str:
    args = ARGS.get(name, {}) if args is None else args
    return reverse(name, kwargs={key: lookup(world, spec) for key, spec in args.items()})


def client_for(user) -> Client:
    # Report a server error as a 500 instead of raising it: every mismatch gets listed.
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def outcome(response) -> int | str:
    if response.status_code in (301, 302):
        path = urlsplit(response["Location"]).path
        try:
            return to(resolve(path).view_name)
        except Resolver404:
            return f"->{path}"
    return response.status_code


def matches(expected, actual) -> bool:
    if isinstance(actual, int) and actual >= 500:
        return False  # never, whatever a row says
    if expected == ANY:
        return True
    return expected == actual


def secrets(world) -> dict[str, set[str]]:
    # The proposer's calendar token opens their feed with meeting links: theirs alone.
    return {**SECRETS, world.calendar_token: set()}


def leaked_secrets(world, response, visitor: str) -> list[str]:
    if response.status_code != 200 or response.streaming:
        return []  # files (slides) are served as streams; nothing planted in them
    body = response.content.decode(errors="replace")
    return [
        secret
        for secret, allowed in secrets(world).items()
        if secret in body and visitor not in allowed
    ]


# --- completeness --------------------------------------------------------------------------


def test_every_url_name_has_an_expectation():
    names = url_names()
    generated = admin_generated_names()
    registered = set(registered_admin_models())
    unnamed = {route for name, route in url_patterns() if name is None}
    problems = [
        *(f"no expectation in EXPECTED for the URL name {name!r}"
          for name in sorted(names - EXPECTED.keys() - generated)),
        *(f"EXPECTED has {name!r}, which is no longer in the URLconf"
          for name in sorted(EXPECTED.keys() - names)),
        *(f"ARGS has {name!r}, which is no longer in the URLconf"
          for name in sorted(ARGS.keys() - names)),
        *(f"the admin model {label!r} is missing in ADMIN_MODELS"
          for label in sorted(registered - ADMIN_MODELS.keys())),
        *(f"ADMIN_MODELS has {label!r}, which is no longer registered in the admin"
          for label in sorted(ADMIN_MODELS.keys() - registered)),
        *(f"no expectation in UNNAMED for the unnamed URL pattern {route!r}"
          for route in sorted(unnamed - UNNAMED.keys())
          if not route.startswith(ADMIN_UNNAMED_PREFIX)),
        *(f"UNNAMED has {route!r}, which is no longer in the URLconf"
          for route in sorted(UNNAMED.keys() - unnamed)),
    ]  # fmt: skip
    assert problems == [], "\n".join(problems)


# --- GET -----------------------------------------------------------------------------------


def get_cases() -> list[tuple[str, str | None, dict | None, tuple]]:
    """(label, URL name or None, URL arguments or a path, row) of every check."""
    prefixes = registered_admin_models()
    return [
        *((name, name, None, row) for name, row in EXPECTED.items()),
        *((f"{prefixes[label]}_changelist", f"{prefixes[label]}_changelist", {}, row)
          for label, row in ADMIN_MODELS.items() if label in prefixes),
        *((f"{name} {args}", name, args, row) for name, args, row in EXTRA_CASES),
        *((f"unnamed {route}", None, path, row) for route, (path, row) in UNNAMED.items()),
    ]  # fmt: skip


@pytest.mark.parametrize("visitor", VISITORS)
def test_get_matrix(world, visitor):
    index = VISITORS.index(visitor)
    client = client_for(getattr(world, visitor))
    mismatches = []
    shown = set()
    for label, name, args, row in get_cases():
        try:
            url = args if name is None else url_for(world, name, args)
        except NoReverseMatch as error:
            mismatches.append(f"{label}: cannot build its URL ({error})")
            continue
        response = client.get(url)
        actual = outcome(response)
        if not matches(row[index], actual):
            mismatches.append(f"{label} ({url}): expected {row[index]}, got {actual}")
        for secret in leaked_secrets(world, response, visitor):
            mismatches.append(f"{label} ({url}): shows {secret!r} to {visitor}")
        if response.status_code == 200 and not response.streaming:
            shown |= {secret for secret in secrets(world) if secret.encode() in response.content}
    if visitor == "organiser":
        # The scan is only worth something if the pages do show the secrets to someone.
        unseen = [
            secret
            for secret, allowed in secrets(world).items()
            if "organiser" in allowed and secret not in shown
        ]
        mismatches += [f"no page shows {secret!r}, even to organisers" for secret in unseen]
    assert mismatches == [], f"{visitor}:\n" + "\n".join(mismatches)


# --- POST ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Post:
    """A POST that writes. `refused`: visitor (one of VISITORS or a World user such as
    "participant") → the outcome, with the database unchanged. `allowed`: who may do it, with
    the outcome `done` and a changed database (the proof that the payload works)."""

    refused: dict[str, int | str]
    data: Callable[[types.SimpleNamespace], dict] = lambda world: {}
    allowed: str | None = None
    done: int | str | None = None
    args: dict[str, str] | None = None  # URL arguments of the refused POSTs, if not ARGS'


def _topic_form(world) -> dict:
    return {
        "title": "A topic sent by POST",
        "track": world.track.pk,
        "summary": "Why it matters.",
        "paper_links": "https://arxiv.org/abs/1810.04805",
        "capacity": 8,
    }


def _first_free_slot(world) -> dict:
    topic = world.ready_topic
    slots = free_slots(track=topic.track, now=timezone.now())
    return {"slot": preferred_slot(slots, topic.preferred_week).isoformat()}


NOT_ORGANISERS = {"anonymous": LOGIN, "audience": FORBIDDEN, "member": FORBIDDEN,
                  "committee": FORBIDDEN}  # fmt: skip
NOT_STAFF = {"anonymous": ADMIN_LOGIN, "audience": ADMIN_LOGIN, "member": ADMIN_LOGIN}

# /api/v1/'s writes with a signed-in session (the test client skips CSRF; tokens and CSRF are
# tests/topicshare/api/test_v1_writes.py). A name on the same URL as another (DELETE beside
# POST) is checked with that URL's POST. Refusals: 401 without a caller, 403 for a
# permission, 409 for the service's own reason.
API_RSVP = [Post(refused={"anonymous": 401}, allowed="audience", done=OK)]
API_PROPOSE = [Post(refused={"anonymous": 401})]  # the JSON body: test_v1_writes.py
API_JOIN = [Post(refused={"anonymous": 401, "audience": FORBIDDEN}, allowed="member", done=OK)]
API_WANT = [Post(refused={"anonymous": 401, "proposer": 409}, allowed="audience", done=OK)]
API_CLAIM = [
    Post(
        refused={"anonymous": 401, "audience": FORBIDDEN, "member": FORBIDDEN,
                 "committee": FORBIDDEN, "organiser": FORBIDDEN},
        allowed="participant", done=OK,
    )
]  # fmt: skip
API_FINISH = [
    Post(
        refused={"anonymous": 401, "audience": FORBIDDEN, "member": FORBIDDEN,
                 "committee": FORBIDDEN},
        allowed="participant", done=OK,
    )
]  # fmt: skip

POST_CASES = {
    "api-v1:topics": API_PROPOSE,
    "api-v1:topic_create": API_PROPOSE,
    "api-v1:rsvp_create": API_RSVP,
    "api-v1:rsvp_delete": API_RSVP,
    "api-v1:check_in": [Post(refused={"anonymous": 401}, allowed="audience", done=OK)],
    "api-v1:group_create": API_JOIN,
    "api-v1:group_delete": API_JOIN,
    "api-v1:want_create": API_WANT,
    "api-v1:want_delete": API_WANT,
    "api-v1:task_claim_api": API_CLAIM,
    "api-v1:task_finish_api": API_FINISH,
    "join-apply": [
        Post(
            data=lambda world: {
                "motivation": "I read NLP papers every week and want to present one.",
                "paper_title": "BERT",
                "paper_url": "https://arxiv.org/abs/1810.04805",
            },
            # Members and above are told they are members already (the form again, 200).
            refused={"anonymous": LOGIN, "member": OK, "committee": OK, "organiser": OK},
            allowed="audience",
            done=to("join-status"),
        )
    ],
    "join-withdraw": [
        Post(
            data=lambda world: {"confirm": "1"},
            refused={"anonymous": LOGIN, **{visitor: NOT_FOUND for visitor in VISITORS[1:]}},
            allowed="applicant",
            done=to("join-status"),
        )
    ],
    "topics:new": [
        Post(
            data=_topic_form,
            refused={"anonymous": LOGIN},
            allowed="audience",
            done=to("topics:detail"),
        )
    ],
    "topics:edit": [
        Post(data=_topic_form, refused=NOT_ORGANISERS, allowed="proposer", done=to("topics:detail"))
    ],
    "topics:transition": [
        Post(
            data=lambda world: {"to": TopicStatus.PREPARING},
            refused=NOT_ORGANISERS,
            allowed="organiser",
            done=to("topics:detail"),
        ),
        Post(
            data=lambda world: {"to": TopicStatus.CANCELLED, "reason": "No time", "confirm": "1"},
            refused={**NOT_ORGANISERS, "participant": FORBIDDEN},
            allowed="proposer",
            done=to("topics:detail"),
        ),
    ],
    "topics:interest": [
        # “想听”: anyone signed in but the topic's presenters (an error message, no vote).
        Post(
            data=lambda world: {"want": "1"},
            refused={"anonymous": LOGIN, "proposer": to("topics:detail")},
            allowed="audience",
            done=to("topics:detail"),
        )
    ],
    # The world's topic has free places: nobody waits for it (a message, nothing changes); and
    # nobody is on its waitlist to leave (tests/sessions/topics/test_waitlist.py: the rest).
    "topics:waitlist-join": [
        Post(refused={"anonymous": LOGIN, **{v: to("topics:detail") for v in VISITORS[2:]}})
    ],
    "topics:waitlist-leave": [
        Post(refused={"anonymous": LOGIN, **{v: to("topics:detail") for v in VISITORS[1:]}})
    ],
    "topics:join": [
        # Members only: the audience is refused by the service (PermissionDenied).
        Post(
            refused={"anonymous": LOGIN, "audience": FORBIDDEN},
            allowed="member",
            done=to("topics:group"),
        )
    ],
    "topics:leave": [
        # Not in the group: an error message on the topic page, nothing changes.
        Post(
            refused={
                "anonymous": LOGIN,
                **{visitor: to("topics:detail") for visitor in VISITORS[1:]},
            },
            allowed="participant",
            done=to("topics:detail"),
        )
    ],
    "topics:group": [
        Post(
            data=lambda world: {"add_task": "1", "title": "A task sent by POST"},
            refused=NOT_ORGANISERS,
            allowed="participant",
            done=to("topics:group"),
        ),
        # The group may add tasks, but only the proposer and organisers change the chat link.
        Post(
            data=lambda world: {
                "save_group": "1",
                "group_chat_link": "https://chat.example.org/other",
            },
            refused={**NOT_ORGANISERS, "participant": FORBIDDEN},
            allowed="proposer",
            done=to("topics:group"),
        ),
    ],
    "topics:task-move": [
        Post(
            data=lambda world: {"status": "done"},
            refused=NOT_ORGANISERS,
            allowed="participant",
            done=to("topics:group"),
        )
    ],
    # 我来 is for the group's own people (an organiser outside it is refused); 完成 also for
    # the organisers.
    "topics:task-claim": [
        Post(
            refused={**NOT_ORGANISERS, "organiser": FORBIDDEN},
            allowed="participant",
            done=to("topics:group"),
        )
    ],
    "topics:task-finish": [
        Post(refused=NOT_ORGANISERS, allowed="participant", done=to("topics:group"))
    ],
    "topics:invitation": [
        # Someone else's invitation does not exist for them; the invited person accepts.
        Post(
            data=lambda world: {"answer": "accept"},
            refused={"anonymous": LOGIN, **{visitor: NOT_FOUND for visitor in VISITORS[1:]}},
            allowed="invitee",
            done=to("topics:detail"),
        )
    ],
    "sessions:rsvp": [
        Post(
            data=lambda world: {"going": "1"},
            refused={"anonymous": LOGIN},
            allowed="audience",
            done=to("sessions:detail"),
        )
    ],
    "sessions:check-in": [
        Post(refused={"anonymous": LOGIN}, allowed="audience", done=to("sessions:detail"))
    ],
    # Saving to the official account's drafts: refused to all but organisers before any call
    # (tests/topicshare/forum/test_wechat_drafts.py saves one against the local API).
    "session-draft": [Post(data=lambda world: {"language": "zh-hans"}, refused=NOT_ORGANISERS)],
    "topic-draft": [Post(data=lambda world: {"language": "zh-hans"}, refused=NOT_ORGANISERS)],
    "sessions:manage": [
        Post(
            data=lambda world: {
                "action": "meeting",
                "meeting_url": "https://meeting.example.org/other",
            },
            refused=NOT_ORGANISERS,
            allowed="organiser",
            done=to("sessions:manage"),
        ),
        Post(
            data=lambda world: {
                "action": "cancel",
                "cancel-reason": "The presenter is ill",
                "confirm": "1",
            },
            refused=NOT_ORGANISERS,
            allowed="organiser",
            done=to("sessions:detail"),
        ),
        Post(
            data=lambda world: {
                "action": "attendance",
                "people": [world.session.topic.proposer_id],
            },
            refused=NOT_ORGANISERS,
            allowed="organiser",
            done=to("sessions:manage"),
        ),
    ],
    "sessions:schedule": [
        Post(
            data=_first_free_slot,
            refused=NOT_ORGANISERS,
            allowed="organiser",
            done=to("sessions:detail"),
        )
    ],
    "sessions:calendar-token": [
        Post(refused={"anonymous": LOGIN}, allowed="audience", done=to("profile"))
    ],
    "onboarding-tick": [
        Post(
            data=lambda world: {"done": "1"},
            refused=NOT_ORGANISERS,
            allowed="organiser",
            done=to("onboarding"),
        )
    ],
    "webhook-add": [
        Post(
            data=lambda world: {"url": "https://127.0.0.1:9/hook", "events": ["topic.accepted"]},
            refused=NOT_ORGANISERS,
            allowed="organiser",
            done=to("webhooks"),
        )
    ],
    "webhook-edit": [
        Post(
            data=lambda world: {
                "url": "https://127.0.0.1:9/other",
                "events": ["member.admitted"],
                "active": "on",
            },
            refused=NOT_ORGANISERS,
            allowed="organiser",
            done=to("webhook-edit"),
        )
    ],
    "webhook-action": [
        # rotate: a new secret (the allowed case); test and delete are refused alike.
        Post(refused=NOT_ORGANISERS, allowed="organiser", done=to("webhooks")),
        Post(
            refused=NOT_ORGANISERS,
            args={"pk": "webhook_endpoint", "action": "=test"},
        ),
        Post(
            refused=NOT_ORGANISERS,
            args={"pk": "webhook_endpoint", "action": "=delete"},
        ),
    ],
    "profile": [
        Post(
            data=lambda world: {"display_name": "Renamed", "preferred_language": "en"},
            refused={"anonymous": LOGIN},
            allowed="audience",
            done=to("profile"),
        )
    ],
    "api-token-create": [
        Post(
            data=lambda world: {"name": "My script", "scope": "read"},
            refused={"anonymous": LOGIN},
            allowed="audience",
            done=OK,  # the profile page, showing the new token once
        )
    ],
    "api-token-revoke": [
        Post(
            data=lambda world: {"confirm": "1"},
            # Only the owner's (an organiser revokes in the admin): 404 to everyone else.
            refused={"anonymous": LOGIN, **{visitor: NOT_FOUND for visitor in VISITORS[1:]}},
            allowed="proposer",
            done=to("profile"),
        )
    ],
    "account-delete": [
        Post(
            data=lambda world: {"password": PASSWORD},
            refused={"anonymous": LOGIN},
            allowed="audience",
            done=to("account-delete"),  # the link is e-mailed; nothing is deleted yet
        )
    ],
    "account-delete-confirm": [Post(refused=dict.fromkeys(VISITORS, 400))],
    "members:notifications": [
        Post(
            data=lambda world: {"wanted": [NotificationKind.PROMOTION]},
            refused={"anonymous": LOGIN},
            allowed="audience",
            done=to("profile"),
        )
    ],
    "ledger:attendance-import": [
        Post(
            data=lambda world: {
                "file": SimpleUploadedFile(
                    "other.csv", f"姓名,参会时长\n{world.member.name},45分钟\n".encode()
                )
            },
            refused=NOT_ORGANISERS,
            allowed="organiser",
            done=to("ledger:attendance-import-preview"),
        )
    ],
    "ledger:attendance-import-columns": [
        Post(
            data=lambda world: {"header_row": "0", "name": "0", "duration": "2"},
            refused=NOT_ORGANISERS,
            allowed="organiser",
            done=to("ledger:attendance-import-preview"),
        )
    ],
    # Confirming records the proposer (matched by e-mail, 60 minutes in the meeting).
    "ledger:attendance-import-preview": [
        Post(
            data=lambda world: {"confirm": "1"},
            refused=NOT_ORGANISERS,
            allowed="organiser",
            done=to("ledger:attendance-import-preview"),
        )
    ],
    "ledger:exemption-request-answer": [
        Post(
            data=lambda world: {"grant": "1"},
            refused=NOT_ORGANISERS,
            allowed="organiser",
            done=to("ledger:exemption-requests"),
        )
    ],
    "follow": [
        Post(
            data=lambda world: {"tracks": [world.track.pk], "delivery": "weekly"},
            refused={"anonymous": LOGIN},
            allowed="audience",
            done=to("follow"),
        )
    ],
    "ledger:my-standing": [
        # The audience is not counted: a message, nothing asked. A member asks.
        Post(
            data=lambda world: {"reason": "Exams this season"},
            refused={"anonymous": LOGIN, "audience": to("ledger:my-standing")},
            allowed="member",
            done=to("ledger:my-standing"),
        )
    ],
    "ledger:season-review": [
        Post(
            data=lambda world: {
                "exempt": world.member.pk,
                f"reason-{world.member.pk}": "Abroad this season",
            },
            refused=NOT_ORGANISERS,
            allowed="organiser",
            done=to("ledger:season-review"),
        )
    ],
    "library:materials": [
        Post(
            data=lambda world: {
                "recording_url": "https://pan.example.org/s/other",
                "extraction_code": "abcd",
            },
            # Hidden from the audience (404); members are not its presenters (403).
            refused={
                "anonymous": LOGIN,
                "audience": NOT_FOUND,
                "member": FORBIDDEN,
                "committee": FORBIDDEN,
            },
            allowed="proposer",  # its presenter
            done=to("library:detail"),
        )
    ],
    "unsubscribe": [
        # The signed token is the credential (one-click unsubscribe, no login): a forged one
        # changes nothing.
        Post(
            refused={"anonymous": NOT_FOUND, "audience": NOT_FOUND},
            args={"token": "=forged"},
            allowed="anonymous",
            done=OK,
        )
    ],
    # The committee's admission views and the organisers' imports in the admin.
    # The vote is a field of the application's one change form (its main Save sends it).
    "members:committee-application": [
        Post(
            data=lambda world: {"choice": "approve", "comment": "Good"},
            refused={"anonymous": LOGIN, "audience": FORBIDDEN, "member": FORBIDDEN},
            allowed="committee",
            done=to("members:committee-application"),
        )
    ],
    "members:committee-step-aside": [
        Post(
            data=lambda world: {"reason": "I referred them"},
            refused={"anonymous": LOGIN, "audience": FORBIDDEN, "member": FORBIDDEN},
            allowed="committee",
            done=to("members:committee-application"),
        )
    ],
    "members:committee-feedback": [
        Post(
            data=lambda world: {"feedback": "Clear talk."},
            refused={"anonymous": LOGIN, "audience": FORBIDDEN, "member": FORBIDDEN},
            allowed="committee",
            done=to("members:committee-application"),
        )
    ],
    # Before a review talk nothing closes; with or without the confirmation.
    "members:committee-close": [
        Post(
            data=lambda world: {"feedback": "Welcome.", "confirm": "1"},
            refused={
                **{"anonymous": LOGIN, "audience": FORBIDDEN, "member": FORBIDDEN},
                "committee": OK,
            },
        )
    ],
    "admin:members_application_change": [
        Post(
            data=lambda world: {"vote_choice": "approve", "vote_comment": "Good", "_save": "1"},
            refused=NOT_STAFF,
            allowed="committee",
            done=to("admin:members_application_changelist"),
        )
    ],
    # The committee may close; before a review talk (or without a quorum) nothing changes.
    "admin:members_application_close": [
        Post(data=lambda world: {"feedback": "Welcome."}, refused=NOT_STAFF)
    ],
    "admin:topic_sessions_topic_import": [
        Post(
            data=lambda world: {
                "file": SimpleUploadedFile(
                    "sheet.csv",
                    f"title,track,proposer\nImported,nlp,{world.member.email}\n".encode(),
                )
            },
            refused={**NOT_STAFF, "committee": FORBIDDEN},
            allowed="organiser",
            done=OK,
        )
    ],
    "admin:library_libraryitem_import": [
        Post(
            data=lambda world: {
                "format": "reading-list",
                "file": SimpleUploadedFile(
                    "list.md", b"# NLP\n\n- [BERT](https://arxiv.org/abs/1810.04805)\n"
                ),
            },
            refused={**NOT_STAFF, "committee": FORBIDDEN},
            allowed="organiser",
            done=OK,
        )
    ],
}

# Non-admin views that write nothing on POST (GET-only views answer 405 or the page; forms
# of allauth are third-party). A bare POST by anonymous and audience must change nothing.
POST_HARMLESS = {
    # /api/v1/'s reads: a POST is not allowed (405).
    "api-v1:api-root", "api-v1:openapi-json", "api-v1:openapi-view", "api-v1:tracks",
    "api-v1:seasons", "api-v1:topic", "api-v1:sessions", "api-v1:session",
    "api-v1:library_items", "api-v1:projects",
    "home", "me", "join", "healthz", "dashboard", "inbox", "join-status", "application-slides",
    # the signed-in person's own archive, rate-limited in the cache: no row written
    "data-export",
    "onboarding", "study-group-qr", "webhooks",
    "session-poster", "topic-poster", "session-promote", "topic-promote", "wechat-jssdk-config",
    "members:committee",
    # anyone may switch the language; it changes only the caller's own preference
    "set_language",
    "topics:sheet", "topics:export", "topics:detail", "topics:group-qr", "api-topics",
    "sessions:upcoming", "sessions:past", "sessions:detail", "sessions:schedule-index",
    "sessions:calendar-all", "sessions:calendar-track", "sessions:calendar-personal",
    "sessions:calendar-track-old", "sessions:calendar-event",
    "api-sessions",
    "library:index", "library:open-source", "library:feed", "library:feed-atom",
    "library:detail", "library:slides", "api-library-items",
    "members:detail", "members:search", "ledger:season-review-current", "ledger:exemption-requests",
    "ledger:season-review-csv",
    "account_login", "account_logout", "account_inactive", "account_signup",
    "account_reauthenticate", "account_email", "account_email_verification_sent",
    # a code kept in the caller's own session and mailed to their own address, no row written
    "account_request_reauthentication_code", "account_confirm_reauthentication_code",
    "account_change_password", "account_set_password", "account_reset_password",
    "account_confirm_login_code", "account_confirm_email",
    "account_reset_password_from_key_done", "account_reset_password_from_key",
    "account_reset_password_done", "socialaccount_login_cancelled",
    "socialaccount_login_error", "socialaccount_signup", "socialaccount_connections",
}  # fmt: skip

# Tables a request may write without changing anything that matters: the login sessions.
UNWATCHED_TABLES = {"sessions.session"}


def db_state() -> dict[str, str]:
    """A digest of every table's rows, by model (raw SQL: this runs a few hundred times)."""
    state = {}
    with connection.cursor() as cursor:
        for model in apps.get_models(include_auto_created=True):
            meta = model._meta
            if meta.proxy or not meta.managed or meta.label_lower in UNWATCHED_TABLES:
                continue
            table = connection.ops.quote_name(meta.db_table)
            cursor.execute(f"SELECT * FROM {table} ORDER BY 1")  # noqa: S608 — our own names
            state[meta.label_lower] = hashlib.sha256(repr(cursor.fetchall()).encode()).hexdigest()
    return state


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(label for label in before if before[label] != after.get(label))


def post_once(world, visitor: str, url: str, data: dict) -> tuple[int | str, list[str]]:
    """POST as `visitor` in a savepoint that is rolled back: (the outcome, changed tables)."""
    with transaction.atomic():
        client = client_for(getattr(world, visitor))
        before = db_state()  # after the login, which writes last_login
        actual = outcome(client.post(url, data))
        changed = changed_tables(before, db_state())
        transaction.set_rollback(True)
    return actual, changed


def test_every_non_admin_url_name_is_in_a_post_table():
    names = {name for name in url_names() if not name.startswith("admin:")}
    both = sorted(POST_CASES.keys() & POST_HARMLESS)
    missing = sorted(names - POST_CASES.keys() - POST_HARMLESS)
    stale = sorted((POST_CASES.keys() | POST_HARMLESS) - url_names())
    problems = [
        *(f"{name!r} is in both POST_CASES and POST_HARMLESS" for name in both),
        *(f"the URL name {name!r} is in neither POST_CASES nor POST_HARMLESS" for name in missing),
        *(f"the POST tables have {name!r}, which is no longer in the URLconf" for name in stale),
    ]
    assert problems == [], "\n".join(problems)


def test_refused_posts_change_nothing(world):
    mismatches = []
    for name, cases in POST_CASES.items():
        for case in cases:
            url = url_for(world, name, case.args)
            for visitor, expected in case.refused.items():
                actual, changed = post_once(world, visitor, url, case.data(world))
                if not matches(expected, actual):
                    mismatches.append(f"{name} as {visitor}: expected {expected}, got {actual}")
                if changed:
                    mismatches.append(f"{name} as {visitor}: refused, yet changed {changed}")
    assert mismatches == [], "\n".join(mismatches)


def test_allowed_posts_do_change_something(world):
    """The payloads of the refusals are real: whoever may, gets it done with them."""
    mismatches = []
    for name, cases in POST_CASES.items():
        for case in cases:
            if case.allowed is None:
                continue
            url = url_for(world, name)
            actual, changed = post_once(world, case.allowed, url, case.data(world))
            if not matches(case.done, actual):
                mismatches.append(f"{name} as {case.allowed}: expected {case.done}, got {actual}")
            if not changed:
                mismatches.append(f"{name} as {case.allowed}: allowed, yet nothing changed")
    assert mismatches == [], "\n".join(mismatches)


@pytest.mark.parametrize("visitor", ["anonymous", "audience"])
def test_harmless_posts_change_nothing(world, visitor):
    mismatches = []
    for name in sorted(POST_HARMLESS):
        actual, changed = post_once(world, visitor, url_for(world, name), {})
        if not matches(ANY, actual):
            mismatches.append(f"{name}: {actual}")
        if changed:
            mismatches.append(f"{name}: a bare POST changed {changed}")
    assert mismatches == [], f"{visitor}:\n" + "\n".join(mismatches)

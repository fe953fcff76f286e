import datetime
import hashlib
import io
import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from members.api_tokens import (
    api_token_authenticate,
    api_token_create,
    api_token_rate_limited,
    api_token_revoke,
)
from members.models import ApiToken, AuditEvent
from members.placeholders import placeholder_for
from tests.factories import UserFactory
from topicshare.core.cache import TolerantRedisCache

pytestmark = pytest.mark.django_db

AT = datetime.datetime(2026, 12, 3, 12, 0, 30, tzinfo=datetime.UTC)


def test_api_token_create_returns_a_token_that_authenticates(audience):
    token, raw = api_token_create(user=audience, name="Script")

    found = api_token_authenticate(raw)

    assert raw.startswith("tsk_")
    assert len(raw) == 4 + 43
    assert found == token
    assert found.user == audience
    assert found.scope == "read"
    assert found.allows_write is False
    assert token.prefix == raw[4:12]


def test_api_token_create_write_scope_allows_write(audience):
    token, _raw = api_token_create(user=audience, name="Bot", scope="write")

    assert token.allows_write is True


def test_api_token_stores_only_the_hash(audience):
    token, raw = api_token_create(user=audience, name="Script")

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM members_apitoken WHERE id = %s", [token.pk])
        row = cursor.fetchone()
    assert [value for value in row if isinstance(value, str) and raw[4:] in value] == []
    assert token.hashed == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(AuditEvent.objects.values_list("details", flat=True))


def test_api_token_create_is_audited(audience):
    token, _raw = api_token_create(user=audience, name="Script")

    event = AuditEvent.objects.get(action=AuditEvent.Action.API_TOKEN_CREATED)
    assert (event.actor, event.subject_user) == (audience, audience)
    assert event.details == {"token": token.pk, "name": "Script", "scope": "read",
                             "prefix": token.prefix}  # fmt: skip


def test_api_token_revoked_is_refused(audience):
    token, raw = api_token_create(user=audience, name="Script")

    api_token_revoke(token=token, by=audience)

    token.refresh_from_db()
    assert token.revoked_at is not None
    assert api_token_authenticate(raw) is None
    assert AuditEvent.objects.filter(action=AuditEvent.Action.API_TOKEN_REVOKED).count() == 1


def test_api_token_revoke_by_another_member_is_refused(audience, member):
    token, raw = api_token_create(user=audience, name="Script")

    with pytest.raises(PermissionDenied):
        api_token_revoke(token=token, by=member)

    assert api_token_authenticate(raw) == token


def test_api_token_revoke_by_an_organiser_works(audience, organiser):
    token, raw = api_token_create(user=audience, name="Script")

    api_token_revoke(token=token, by=organiser)

    assert api_token_authenticate(raw) is None


def test_api_token_of_an_inactive_user_is_refused(audience):
    _token, raw = api_token_create(user=audience, name="Script")
    audience.is_active = False
    audience.save(update_fields=["is_active"])

    assert api_token_authenticate(raw) is None


def test_api_token_create_refuses_placeholders_and_inactive_users():
    placeholder = placeholder_for(name="王小明")
    inactive = UserFactory(is_active=False)

    for user in (placeholder, inactive):
        with pytest.raises(PermissionDenied):
            api_token_create(user=user, name="Script")
    assert ApiToken.objects.count() == 0


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "tsk_",
        "Bearer tsk_abc",
        "tsk_" + "a" * 39,  # too short
        "tsk_" + "a" * 65,  # too long
        "xyz_" + "a" * 43,  # not our prefix
        "tsk_" + "a" * 42 + "!",  # not URL-safe base64
        "tsk_" + "ä" * 43,
        None,
        b"tsk_" + b"a" * 43,
    ],
)
def test_api_token_authenticate_refuses_malformed_strings_without_a_query(
    audience, raw, django_assert_num_queries
):
    api_token_create(user=audience, name="Script")

    with django_assert_num_queries(0):
        assert api_token_authenticate(raw) is None


def test_api_token_authenticate_refuses_a_huge_string_without_hashing_it(
    audience, django_assert_num_queries
):
    huge = "tsk_" + "a" * 10_000_000

    with django_assert_num_queries(0):
        assert api_token_authenticate(huge) is None


def test_api_token_authenticate_refuses_an_unknown_token(audience):
    api_token_create(user=audience, name="Script")

    assert api_token_authenticate("tsk_" + "a" * 43) is None


def test_api_token_authenticate_is_one_query_once_used(audience, django_assert_num_queries):
    _token, raw = api_token_create(user=audience, name="Script")
    api_token_authenticate(raw, now=AT)

    with django_assert_num_queries(1):
        found = api_token_authenticate(raw, now=AT + datetime.timedelta(seconds=30))
        assert found.user.email == audience.email  # loaded with the token


def test_api_token_last_used_at_is_written_at_most_once_a_minute(
    audience, django_assert_num_queries
):
    token, raw = api_token_create(user=audience, name="Script")

    with django_assert_num_queries(2):  # the lookup and one UPDATE
        api_token_authenticate(raw, now=AT)
    api_token_authenticate(raw, now=AT + datetime.timedelta(seconds=59))
    token.refresh_from_db()
    assert token.last_used_at == AT

    api_token_authenticate(raw, now=AT + datetime.timedelta(seconds=60))
    token.refresh_from_db()
    assert token.last_used_at == AT + datetime.timedelta(seconds=60)


def test_api_token_21st_live_token_is_refused(audience):
    tokens = [api_token_create(user=audience, name=f"t{n}")[0] for n in range(20)]

    with pytest.raises(ValidationError) as refused:
        api_token_create(user=audience, name="one too many")

    assert refused.value.messages == [
        "You have 20 API tokens already: revoke one before making another."
    ]
    api_token_revoke(token=tokens[0], by=audience)
    assert api_token_create(user=audience, name="after a revoke")[0].pk is not None


@pytest.mark.parametrize(
    ("name", "scope", "field"),
    [("   ", "read", "name"), ("x" * 101, "read", "name"), ("Script", "admin", "scope")],
)
def test_api_token_create_refuses_bad_input(audience, name, scope, field):
    with pytest.raises(ValidationError) as refused:
        api_token_create(user=audience, name=name, scope=scope)

    assert list(refused.value.error_dict) == [field]


def test_api_token_rate_limited_trips_after_the_limit_in_a_window(audience, settings):
    settings.TOPICSHARE_API_TOKEN_RATE_PER_MINUTE = 3
    token, _raw = api_token_create(user=audience, name="Script")
    other, _raw = api_token_create(user=audience, name="Other")

    answers = [api_token_rate_limited(token, now=AT) for _ in range(4)]

    assert answers == [False, False, False, True]
    assert api_token_rate_limited(other, now=AT) is False  # per token
    # The next minute is a new window.
    assert api_token_rate_limited(token, now=AT + datetime.timedelta(seconds=30)) is False


def test_api_token_rate_limit_counts_in_redis_across_clients(audience, settings):
    """The counter lives in Redis, so every process shares it: another cache client (as in
    another worker) sees the requests counted."""
    from tests.conftest import redis_reachable, redis_url, skip_or_fail

    url = redis_url()
    if not redis_reachable(url):
        skip_or_fail(f"no Redis at {url}")
    settings.TOPICSHARE_API_TOKEN_RATE_PER_MINUTE = 2
    prefix = f"test-api-tokens-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "topicshare.core.cache.TolerantRedisCache",
            "LOCATION": url,
            "KEY_PREFIX": prefix,
        }
    }
    other_worker = TolerantRedisCache(url, {"KEY_PREFIX": prefix})
    token, _raw = api_token_create(user=audience, name="Script")
    key = f"api-token-rate:{token.pk}:{int(AT.timestamp()) // 60}"
    try:
        answers = [api_token_rate_limited(token, now=AT) for _ in range(2)]
        seen_elsewhere = other_worker.get(key)
        answers.append(api_token_rate_limited(token, now=AT))

        assert answers == [False, False, True]
        assert seen_elsewhere == 2
    finally:
        other_worker.delete(key)


# --- the profile page -----------------------------------------------------------------------


def test_profile_create_shows_the_token_once(client, audience):
    client.force_login(audience)

    response = client.post(
        reverse("api-token-create"), {"name": "My script", "scope": "write"},
        headers={"accept-language": "en"},
    )  # fmt: skip

    token = ApiToken.objects.get(user=audience)
    page = response.content.decode()
    raw = page[page.index('value="tsk_') + len('value="') :].split('"', 1)[0]
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    assert "you won't see it again" in page
    assert api_token_authenticate(raw) == token
    assert (token.name, token.scope) == ("My script", "write")
    reloaded = client.get(reverse("profile")).content.decode()
    assert raw not in reloaded
    assert f"tsk_{token.prefix}…" in reloaded
    assert "My script" in reloaded


def test_profile_create_with_a_bad_form_shows_its_errors(client, audience):
    client.force_login(audience)

    response = client.post(reverse("api-token-create"), {"name": "", "scope": "root"})

    assert response.status_code == 400
    assert response.context["api_token_form"].errors.keys() == {"name", "scope"}
    assert ApiToken.objects.count() == 0


def test_profile_create_the_21st_token_shows_the_limit(client, audience):
    for n in range(20):
        api_token_create(user=audience, name=f"t{n}")
    client.force_login(audience)

    response = client.post(
        reverse("api-token-create"), {"name": "more", "scope": "read"},
        headers={"accept-language": "en"},
    )  # fmt: skip

    assert response.status_code == 400
    assert response.context["api_token_form"].non_field_errors() == [
        "You have 20 API tokens already: revoke one before making another."
    ]
    chinese = client.post(reverse("api-token-create"), {"name": "more", "scope": "read"},
                          headers={"accept-language": "zh-hans"})  # fmt: skip
    assert (
        chinese.context["api_token_form"]
        .non_field_errors()[0]
        .startswith("你已经有 20 个 API 令牌")
    )
    assert ApiToken.objects.count() == 20


def test_profile_revoke_by_the_owner_works(client, audience):
    token, raw = api_token_create(user=audience, name="Script")
    client.force_login(audience)

    asked = client.post(reverse("api-token-revoke", args=[token.pk]))
    assert asked.status_code == 200  # the confirmation; nothing done yet
    assert api_token_authenticate(raw) == token

    response = client.post(reverse("api-token-revoke", args=[token.pk]), {"confirm": "1"})

    assert response.status_code == 302
    assert response["Location"] == reverse("profile")
    assert api_token_authenticate(raw) is None
    assert list(client.get(reverse("profile")).context["api_tokens"]) == []


def test_profile_revoke_of_someone_elses_token_is_404(client, audience, member):
    token, raw = api_token_create(user=audience, name="Script")
    client.force_login(member)

    response = client.post(reverse("api-token-revoke", args=[token.pk]), {"confirm": "1"})

    assert response.status_code == 404
    assert api_token_authenticate(raw) == token


def test_profile_lists_only_my_live_tokens(client, audience, member):
    mine, _raw = api_token_create(user=audience, name="Mine")
    gone, _raw = api_token_create(user=audience, name="Gone")
    api_token_revoke(token=gone, by=audience)
    api_token_create(user=member, name="Theirs")
    client.force_login(audience)

    response = client.get(reverse("profile"))

    assert [token.name for token in response.context["api_tokens"]] == ["Mine"]


# --- manage.py api_token_create -------------------------------------------------------------


def test_command_prints_a_token_that_authenticates(audience):
    out = io.StringIO()

    call_command("api_token_create", audience.email.upper(), "--scope", "write", stdout=out)

    raw = out.getvalue()
    assert raw.endswith("\n")
    assert raw.count("\n") == 1
    token = api_token_authenticate(raw.strip())
    assert token.user == audience
    assert token.scope == "write"


def test_command_errors_on_an_unknown_email(db):
    with pytest.raises(CommandError, match="No account has the e-mail address"):
        call_command("api_token_create", "nobody@example.org", stdout=io.StringIO())


def test_command_errors_on_a_bad_scope(audience):
    with pytest.raises(CommandError, match="Unknown scope 'admin'"):
        call_command("api_token_create", audience.email, "--scope", "admin", stdout=io.StringIO())
    assert ApiToken.objects.count() == 0


# --- the admin ------------------------------------------------------------------------------


def test_admin_action_revokes_through_the_service(client, organiser, audience):
    token, raw = api_token_create(user=audience, name="Script")
    client.force_login(organiser)

    response = client.post(
        reverse("admin:members_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
    )

    assert response.status_code == 302
    assert api_token_authenticate(raw) is None
    assert AuditEvent.objects.get(action=AuditEvent.Action.API_TOKEN_REVOKED).actor == organiser


def test_admin_change_page_does_not_show_the_hash(client, organiser, audience):
    token, _raw = api_token_create(user=audience, name="Script")
    client.force_login(organiser)

    page = client.get(reverse("admin:members_apitoken_change", args=[token.pk])).content.decode()

    assert f"tsk_{token.prefix}…" in page
    assert token.hashed not in page

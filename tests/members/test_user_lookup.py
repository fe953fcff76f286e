"""User.objects.get(pk=…) — what the authentication backends ask on every signed-in request —
answers from one prepared statement (members/models.py) with exactly what the ORM gives."""

import datetime

import pytest
from django.contrib.auth import get_user
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from members.models import User
from members.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _fields(user) -> dict:
    return {field.attname: getattr(user, field.attname) for field in User._meta.concrete_fields}


def test_get_by_pk_gives_what_the_orm_gives():
    made = UserFactory(role=Role.MEMBER, display_name="王小明", wechat_id="wxid_1")
    User.objects.filter(pk=made.pk).update(last_login=timezone.now(), is_staff=True)

    with CaptureQueriesContext(connection) as queries:
        fast = User.objects.get(pk=made.pk)
    orm = User.objects.filter(pk=made.pk).get()

    assert len(queries) == 1
    assert _fields(fast) == _fields(orm)
    assert fast.is_staff is True and isinstance(fast.last_login, datetime.datetime)
    assert timezone.is_aware(fast.last_login)
    assert fast._state.adding is False and fast._state.db == "default"
    with CaptureQueriesContext(connection) as role_queries:
        assert fast.role == Role.MEMBER  # its groups came with it
    assert len(role_queries) == 0
    assert User.objects.get(pk=str(made.pk)) == made  # the session keeps the id as text


def test_get_by_a_pk_that_is_missing_or_junk_behaves_like_the_orm():
    with pytest.raises(User.DoesNotExist):
        User.objects.get(pk=987654)
    with pytest.raises((ValueError, TypeError)):
        User.objects.get(pk="not-a-number")


def test_a_signed_in_request_reads_the_user_with_it(client):
    member = UserFactory(role=Role.MEMBER)
    client.force_login(member)
    request = client.get("/").wsgi_request

    assert get_user(request) == member


@pytest.mark.parametrize("role", list(Role))
def test_the_role_read_with_the_user_is_the_role_its_groups_give(role):
    from members.services import role_set

    person = UserFactory(role=Role.AUDIENCE)
    role_set(user=person, role=role)

    assert (
        User.objects.get(pk=person.pk).role == role == User.objects.filter(pk=person.pk).get().role
    )


def test_a_superuser_is_an_organiser_without_any_group():
    person = UserFactory(is_superuser=True)
    person.groups.clear()

    assert User.objects.get(pk=person.pk).role == Role.ORGANISER

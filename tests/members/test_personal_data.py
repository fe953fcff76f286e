"""The registry of a member's own data (members/personal_data.py): every foreign key to the
user has exactly one rule, and erasing an account with a row of every relation leaves nothing
that names the person."""

import json

import pytest
from django.apps import apps

from members.personal_data import (
    PersonalDataError,
    personal_data_collect,
    personal_data_erase,
    personal_data_rules,
)
from members.roles import Role
from tests.factories import UserFactory
from tests.members.test_placeholders import _context, _foreign_keys_to_user, _row_makers

pytestmark = pytest.mark.django_db

NAME, EMAIL, WECHAT = "Zhang Weiming", "weiming.zhang@example.org", "wx_weiming_88"


def rows_naming(strings: list[str]) -> list[str]:
    """Every row of every table (text, JSON and all) in which one of `strings` occurs."""
    found = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.proxy or not model._meta.managed:
            continue
        for row in model._base_manager.values():
            text = repr(row)
            found += [f"{model._meta.label} #{row.get('id')}: {s}" for s in strings if s in text]
    return found


def test_every_foreign_key_to_a_user_has_exactly_one_personal_data_rule():
    """A new foreign key to the user needs a rule (export and erasure) in its app's
    personal_data.py: what the archive holds and what deleting an account does with it."""
    covered = [label for rule in personal_data_rules() for label in rule.covers]

    assert sorted(covered) == sorted(_foreign_keys_to_user())
    assert len(covered) == len(set(covered))


def test_erasing_an_account_with_a_row_of_every_relation_leaves_no_trace(organiser):
    me = UserFactory(display_name=NAME, email=EMAIL, wechat_id=WECHAT, role=Role.COMMITTEE)
    other = UserFactory(display_name="Li Hua", email="li.hua@example.org")
    mine, shared = _context(1), _context(2)
    kept_of_others = {}
    for label, make in _row_makers().items():
        make(me, mine)
        make(me, shared)
        kept_of_others[label] = make(other, mine)
    data, _files = personal_data_collect(user=me)
    json.dumps(data)  # every section serialises

    personal_data_erase(user=me)

    me.refresh_from_db()
    assert me.deleted_at is not None
    assert (me.is_active, me.has_usable_password(), me.display_name) == (False, False, "")
    assert me.name == f"Former member {me.pk}"
    assert list(me.groups.all()) == []
    assert rows_naming([NAME, EMAIL, WECHAT]) == []
    fields = _foreign_keys_to_user()
    changed = [
        label
        for label, row in kept_of_others.items()
        if fields[label]
        .model._base_manager.filter(pk=row.pk)
        .values_list(fields[label].attname, flat=True)
        .first()
        != other.pk
    ]
    assert changed == []  # another person's rows are theirs still


def test_the_last_organiser_cannot_be_erased(organiser):
    with pytest.raises(PersonalDataError, match="last organiser"):
        personal_data_erase(user=organiser)

    organiser.refresh_from_db()
    assert organiser.deleted_at is None
    assert organiser.is_active is True


def test_an_organiser_can_be_erased_when_another_remains(organiser):
    second = UserFactory(role=Role.ORGANISER)

    personal_data_erase(user=second)

    second.refresh_from_db()
    assert (second.is_active, second.is_staff, second.deleted_at is not None) == (
        False,
        False,
        True,
    )

import pytest
from django.urls import reverse

from members.models import User
from members.roles import Role
from members.services import role_set
from tests.factories import TrackFactory, UserFactory


@pytest.mark.django_db
def test_profile_requires_login(client):
    response = client.get(reverse("profile"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login"))


@pytest.mark.django_db
def test_profile_saves_fields(client, audience):
    nlp = TrackFactory(slug="nlp")
    client.force_login(audience)

    response = client.post(
        reverse("profile"),
        {
            "display_name": "  小  明 ",
            "wechat_id": "xiaoming_42",
            "tracks_of_interest": [nlp.pk],
            "preferred_language": "en",
        },
    )

    assert response.status_code == 302
    audience.refresh_from_db()
    assert audience.display_name == "小 明"
    assert audience.wechat_id == "xiaoming_42"
    assert list(audience.tracks_of_interest.all()) == [nlp]
    assert audience.preferred_language == "en"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "wechat_id", ["abc", "1abcdefg", "微信号码很长很长", "a" * 21, "has space1"]
)
def test_profile_rejects_bad_wechat_id(client, audience, wechat_id):
    client.force_login(audience)

    response = client.post(reverse("profile"), {"display_name": "x", "wechat_id": wechat_id})

    assert response.status_code == 200
    assert "wechat_id" in response.context["form"].errors
    audience.refresh_from_db()
    assert audience.wechat_id == ""


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("viewer_role", "sees_wechat"),
    [(Role.AUDIENCE, False), (Role.MEMBER, False), (Role.COMMITTEE, False), (Role.ORGANISER, True)],
)
def test_wechat_id_is_shown_to_organisers_only(client, viewer_role, sees_wechat):
    person = UserFactory(wechat_id="secret_wx_id")
    viewer = UserFactory(role=viewer_role)
    client.force_login(viewer)

    content = client.get(reverse("members:detail", args=[person.pk])).content.decode()

    assert ("secret_wx_id" in content) is sees_wechat


@pytest.mark.django_db
def test_member_sees_own_wechat_id(client):
    person = UserFactory(wechat_id="my_own_wx")
    client.force_login(person)

    content = client.get(reverse("members:detail", args=[person.pk])).content.decode()

    assert "my_own_wx" in content


@pytest.mark.django_db
def test_role_set_keeps_exactly_one_role_group_and_staff_flag():
    person = UserFactory(role=Role.AUDIENCE)

    role_set(user=person, role=Role.COMMITTEE)
    assert sorted(person.groups.values_list("name", flat=True)) == ["Committee"]
    assert person.is_staff is True
    assert person.role == Role.COMMITTEE

    role_set(user=person, role=Role.MEMBER)
    person.refresh_from_db()
    assert sorted(person.groups.values_list("name", flat=True)) == ["Member"]
    assert person.is_staff is False


@pytest.mark.django_db
def test_organiser_changes_role_in_admin(client, organiser):
    person = UserFactory(role=Role.AUDIENCE)
    client.force_login(organiser)

    response = client.post(
        reverse("admin:members_user_changelist"),
        {"action": "make_member", "_selected_action": [person.pk]},
    )

    assert response.status_code == 302
    person.refresh_from_db()
    assert person.role == Role.MEMBER


@pytest.mark.django_db
def test_committee_cannot_change_roles_in_admin(client, committee):
    person = UserFactory(role=Role.AUDIENCE)
    client.force_login(committee)

    response = client.post(
        reverse("admin:members_user_changelist"),
        {"action": "make_organiser", "_selected_action": [person.pk]},
    )

    assert response.status_code == 403
    person.refresh_from_db()
    assert person.role == Role.AUDIENCE


@pytest.mark.django_db
def test_organiser_sets_role_on_user_change_form(client, organiser):
    person = UserFactory(role=Role.AUDIENCE, email="promote@example.org")
    client.force_login(organiser)
    url = reverse("admin:members_user_change", args=[person.pk])
    assert client.get(url).status_code == 200

    response = client.post(
        url,
        {
            "email": "promote@example.org",
            "display_name": "Promoted",
            "wechat_id": "",
            "preferred_language": "",
            "is_active": "on",
            "role": "Committee",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    person.refresh_from_db()
    assert person.role == Role.COMMITTEE
    assert person.is_staff is True
    assert person.check_password("correct-horse-battery-42") is True


@pytest.mark.django_db
def test_organiser_adds_user_with_role_in_admin(client, organiser):
    client.force_login(organiser)
    url = reverse("admin:members_user_add")
    assert client.get(url).status_code == 200

    response = client.post(
        url,
        {
            "email": "added@example.org",
            "display_name": "Added",
            "usable_password": "true",
            "password1": "a-long-enough-pass-93",
            "password2": "a-long-enough-pass-93",
            "role": "Member",
        },
    )

    assert response.status_code == 302
    added = User.objects.get(email="added@example.org")
    assert added.role == Role.MEMBER
    assert added.check_password("a-long-enough-pass-93") is True

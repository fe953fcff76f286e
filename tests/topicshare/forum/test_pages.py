import pytest
from django.urls import reverse
from django.utils import translation

from topicshare.forum.models import ForumSettings


def _nav(content: str) -> set[str]:
    return {
        name
        for name in ("admin", "profile", "logout", "login", "signup")
        if f'data-nav="{name}"' in content
    }


@pytest.mark.django_db
def test_navigation_for_anonymous_offers_login_and_signup(client):
    content = client.get(reverse("home")).content.decode()

    assert _nav(content) == {"login", "signup"}


@pytest.mark.django_db
def test_navigation_for_audience_has_profile_but_no_admin(client, audience):
    client.force_login(audience)

    content = client.get(reverse("home")).content.decode()

    assert _nav(content) == {"profile", "logout"}


@pytest.mark.django_db
def test_navigation_for_organiser_has_admin(client, organiser):
    client.force_login(organiser)

    content = client.get(reverse("home")).content.decode()

    assert _nav(content) == {"admin", "profile", "logout"}
    assert client.get(reverse("admin:index")).status_code == 200


@pytest.mark.django_db
def test_home_is_chinese_by_default(client):
    content = client.get(reverse("home")).content.decode()

    assert '<html lang="zh-hans" data-forum-tz="Asia/Shanghai">' in content
    assert "注册" in content
    assert "Sign up" not in content


@pytest.mark.django_db
def test_language_switch_renders_english(client):
    response = client.post(
        reverse("set_language"), {"language": "en", "next": reverse("join")}, follow=True
    )

    content = response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("join")
    assert '<html lang="en" data-forum-tz="Asia/Shanghai">' in content
    assert "Join the forum" in content
    assert "Sign up" in content


@pytest.mark.django_db
def test_language_switch_is_remembered_on_profile(client, audience):
    client.force_login(audience)

    client.post(reverse("set_language"), {"language": "en", "next": "/"})

    audience.refresh_from_db()
    assert audience.preferred_language == "en"
    client.cookies.clear()
    client.force_login(audience)
    assert (
        '<html lang="en" data-forum-tz="Asia/Shanghai">'
        in client.get(reverse("home")).content.decode()
    )


@pytest.mark.django_db
def test_language_switch_rejects_unknown_language(client):
    response = client.post(reverse("set_language"), {"language": "xx", "next": "/"})

    assert response.status_code == 400


@pytest.mark.django_db
def test_home_shows_forum_settings(client):
    forum = ForumSettings.load()
    forum.forum_name = "周六论文会"
    forum.slogan = "读懂一篇是一篇"
    forum.join_instructions = "先注册，再报名审核。"
    forum.save()

    content = client.get(reverse("home")).content.decode()

    assert "周六论文会" in content
    assert "读懂一篇是一篇" in content
    assert "先注册，再报名审核。" in content


@pytest.mark.django_db
def test_unknown_page_gets_friendly_404(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "返回首页" in response.content.decode()


@pytest.mark.django_db
def test_audience_cannot_open_admin(client, audience):
    client.force_login(audience)

    response = client.get(reverse("admin:index"))

    assert response.status_code == 302
    assert response.url.startswith(reverse("admin:login"))


@pytest.mark.django_db
def test_error_pages_are_friendly(rf):
    from topicshare.forum.views import permission_denied, server_error

    with translation.override("zh-hans"):
        forbidden = permission_denied(rf.get("/x/"))
        broken = server_error(rf.get("/x/"))

    assert forbidden.status_code == 403
    assert "你无权打开这个页面" in forbidden.content.decode()
    assert broken.status_code == 500
    assert "服务器出错了" in broken.content.decode()


@pytest.mark.django_db
def test_forum_settings_refuses_oversized_qr_image(client, organiser, settings):
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.TOPICSHARE_MAX_IMAGE_BYTES = 1024
    png_header = b"\x89PNG\r\n\x1a\n" + b"\x00" * 2048
    ForumSettings.load()
    client.force_login(organiser)

    response = client.post(
        reverse("admin:forum_forumsettings_change", args=[1]),
        {
            "forum_name": "TopicShare",
            "slogan": "",
            "join_instructions": "",
            "official_account_qr": SimpleUploadedFile("qr.png", png_header, "image/png"),
        },
    )

    assert response.status_code == 200
    assert "official_account_qr" in response.context["adminform"].form.errors
    assert not ForumSettings.load().official_account_qr

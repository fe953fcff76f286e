"""The promotion pack's "save to drafts" against a server on 127.0.0.1 that answers like the
official account's API (tests/wechatserver.py): token kept and refreshed, the cover uploaded
as material, the same draft updated, errors shown with the API's errcode, nothing sent."""

import pytest
from django.contrib.messages import get_messages
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from members.roles import Role
from sessions.models import TopicStatus
from sessions.topics.slots import track_slots
from sessions.weekly.scheduling import session_schedule
from tests.factories import TopicFactory, UserFactory
from topicshare.forum import wechat_mp
from topicshare.forum.models import ForumSettings, OfficialAccountDraft

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.TOPICSHARE_SITE_URL = "https://forum.example.org"
    ForumSettings.load()


@pytest.fixture
def session():
    organiser = UserFactory(role=Role.ORGANISER)
    topic = TopicFactory(
        status=TopicStatus.READY, title="扩散模型的采样加速：从 DDPM 到一致性模型",
        proposer=UserFactory(role=Role.MEMBER, display_name="王小明"),
    )  # fmt: skip
    now = timezone.now()
    return session_schedule(
        topic=topic, start=track_slots(track=topic.track, after=now)[0], by=organiser, now=now
    )


@pytest.fixture
def organiser_client(client):
    # English pages: the messages below are read in the source language
    client.force_login(UserFactory(role=Role.ORGANISER, preferred_language="en"))
    return client


def _save(client, session, language="zh-hans"):
    response = client.post(
        reverse("session-draft", args=[session.pk]), {"language": language}, follow=True
    )
    assert response.status_code == 200
    return [str(message) for message in get_messages(response.wsgi_request)] or [
        str(m) for m in response.context["messages"]
    ]


def test_save_to_drafts_uploads_the_cover_and_adds_one_draft(organiser_client, session, wechat_api):
    page = organiser_client.get(reverse("session-promote", args=[session.pk])).content.decode()
    assert 'data-action="save-draft"' in page

    organiser_client.post(reverse("session-draft", args=[session.pk]), {"language": "zh-hans"})

    (draft,) = wechat_api.drafts.values()
    assert draft["title"].startswith("扩散模型的采样加速") and len(draft["title"]) <= 32
    assert draft["thumb_media_id"] in wechat_api.materials  # the poster, as a JPEG
    assert draft["content_source_url"] == f"https://forum.example.org/sessions/{session.pk}/"
    assert "http://mmbiz.qpic.cn/mmbiz_jpg/1/0" in draft["content"]  # the poster, uploaded
    assert "<script" not in draft["content"] and "王小明" in draft["content"]
    saved = OfficialAccountDraft.objects.get()
    assert (saved.kind, saved.object_id, saved.language) == ("session", session.pk, "zh-hans")
    page = organiser_client.get(reverse("session-promote", args=[session.pk])).content.decode()
    assert "data-draft-saved" in page
    # never a send: only the token, the two uploads and the draft box were called
    assert set(wechat_api.paths) == {
        "/cgi-bin/token", "/cgi-bin/material/add_material", "/cgi-bin/media/uploadimg",
        "/cgi-bin/draft/add",
    }  # fmt: skip


def test_saving_again_updates_the_same_draft_with_the_token_and_images_kept(
    organiser_client, session, wechat_api
):
    _save(organiser_client, session)
    _save(organiser_client, session)

    assert len(wechat_api.drafts) == 1
    assert wechat_api.tokens_issued == 1  # kept in the cache
    assert len(wechat_api.materials) == 1  # the same poster is not uploaded twice
    assert wechat_api.paths.count("/cgi-bin/draft/update") == 1


def test_an_expired_token_is_fetched_again_and_the_call_retried(
    organiser_client, session, wechat_api
):
    _save(organiser_client, session)
    wechat_api.expire_token()
    session.topic.title = "扩散模型的采样加速（更新）"
    session.topic.save()

    messages = _save(organiser_client, session)

    assert wechat_api.tokens_issued == 2
    assert any("Saved to the official account's drafts" in m for m in messages), messages
    (draft,) = wechat_api.drafts.values()
    assert draft["title"] == "扩散模型的采样加速（更新）"


def test_a_draft_deleted_in_the_back_office_is_added_again(organiser_client, session, wechat_api):
    _save(organiser_client, session)
    wechat_api.forget_drafts()

    _save(organiser_client, session)

    assert len(wechat_api.drafts) == 1
    assert OfficialAccountDraft.objects.get().media_id in wechat_api.drafts


def test_the_quota_error_is_shown_with_its_errcode_and_nothing_is_recorded(
    organiser_client, session, wechat_api
):
    wechat_api.quota_left = 0

    messages = _save(organiser_client, session, language="en")

    assert any("45009" in m for m in messages), messages
    assert any("quota" in m for m in messages)
    assert not OfficialAccountDraft.objects.exists() and not wechat_api.drafts


def test_a_wrong_secret_says_which_setting(organiser_client, session, wechat_api, settings):
    settings.WECHAT_MP_APP_SECRET = "wrong"

    messages = _save(organiser_client, session, language="en")

    assert any("40125" in m and "WECHAT_MP_APP_SECRET" in m for m in messages), messages


def test_an_unreachable_api_is_a_clear_error(organiser_client, session, settings):
    settings.WECHAT_MP_APP_ID, settings.WECHAT_MP_APP_SECRET = "wx", "secret"
    settings.WECHAT_MP_API_BASE = "http://127.0.0.1:9"  # nothing listens there

    messages = _save(organiser_client, session, language="en")

    assert any("could not be reached" in m for m in messages), messages


def test_not_configured_the_pack_offers_no_draft_button_and_the_post_is_refused(
    organiser_client, session
):
    page = organiser_client.get(reverse("session-promote", args=[session.pk])).content.decode()
    assert 'data-action="save-draft"' not in page

    messages = _save(organiser_client, session, language="en")

    assert any("not configured" in m for m in messages)
    assert not OfficialAccountDraft.objects.exists()


@pytest.mark.parametrize("role", [Role.AUDIENCE, Role.MEMBER, Role.COMMITTEE])
def test_only_organisers_save_drafts(client, session, wechat_api, role):
    client.force_login(UserFactory(role=role))

    response = client.post(reverse("session-draft", args=[session.pk]), {"language": "zh-hans"})

    assert response.status_code == 403
    assert wechat_api.paths == []


def test_a_bad_language_is_refused(organiser_client, session, wechat_api):
    messages = _save(organiser_client, session, language="xx" * 100)

    assert any("language" in m for m in messages)
    assert wechat_api.paths == []


def test_the_js_sdk_signature_is_wechats_sha1():
    # The example of WeChat's JS-SDK documentation (附录1-JS-SDK使用权限签名算法).
    assert wechat_mp.jssdk_signature(
        ticket="sM4AOVdWfPE4DxkXGEs8VMCPGGVi4C3VM0P37wVUCFvkVAy_90u5h9nbSlYy3-Sl-HhTdfl2fzFy1AOcHKP7qg",
        nonce="Wm3WZYTPz0wzccnW", timestamp=1414587457,
        url="http://mp.weixin.qq.com?params=value#fragment",
    ) == "0f9de62fce790f9a083d5c99e95740ceb90c27ed"  # fmt: skip


def test_the_ticket_is_fetched_once(wechat_api):
    first = wechat_mp.jssdk_config(url="https://forum.example.org/sessions/1/")
    second = wechat_mp.jssdk_config(url="https://forum.example.org/sessions/1/")

    assert first["appId"] == "wx-test-app" and len(first["signature"]) == 40
    assert wechat_api.paths.count("/cgi-bin/ticket/getticket") == 1 and second["signature"]
    cache.clear()

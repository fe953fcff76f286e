"""Inside WeChat (its user agent, 390 px), with the official account configured (the fake
API on 127.0.0.1): a session's page loads the self-hosted JS-SDK, configures it with a
signature the server made from the jsapi ticket, and hands WeChat the page's share card
(title, description, link, poster). WeChat's native bridge is the one thing stubbed: it is
the app itself, outside any browser."""

import hashlib

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from members.roles import Role
from sessions.models import TopicStatus
from sessions.topics.slots import track_slots
from sessions.weekly.scheduling import session_schedule
from tests.browser.conftest import PHONE, REPORT_VIOLATIONS, WECHAT
from tests.factories import TopicFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

BRIDGE = """
window.invoked = [];
window.WeixinJSBridge = {
  invoke(name, args, callback) {
    window.invoked.push([name, args]);
    const api = {preVerifyJSAPI: "config"}[name] || name;
    if (callback) setTimeout(() => callback({errMsg: api + ":ok", err_msg: api + ":ok"}), 0);
  },
  on() {}, call() {},
};
"""


def test_a_session_page_in_wechat_hands_over_its_share_card(live_server, chromium, wechat_api):
    organiser = UserFactory(role=Role.ORGANISER)
    topic = TopicFactory(status=TopicStatus.READY, title="图神经网络的过平滑问题")
    now = timezone.now()
    session = session_schedule(
        topic=topic, start=track_slots(track=topic.track, after=now)[0], by=organiser, now=now
    )
    context = chromium.new_context(
        locale="zh-CN", timezone_id="Asia/Shanghai", viewport=PHONE, user_agent=WECHAT,
        is_mobile=True, has_touch=True,
    )  # fmt: skip
    violations = []
    context.on("console", lambda message: violations.append(message.text)
               if "CSP" in message.text else None)  # fmt: skip
    context.add_init_script(REPORT_VIOLATIONS)
    context.add_init_script(BRIDGE)
    page = context.new_page()
    try:
        url = f"{live_server.url}/sessions/{session.pk}/"
        page.goto(url)
        # (polled: the page's CSP forbids the eval that wait_for_function would need)
        for _attempt in range(100):
            names = page.evaluate("() => window.invoked.map(([name]) => name)")
            if "updateAppMessageShareData" in names:
                break
            page.wait_for_timeout(100)
        invoked = dict(page.evaluate("window.invoked"))
        config = invoked["preVerifyJSAPI"]
        plain = (
            f"jsapi_ticket=TICKET-1&noncestr={config['verifyNonceStr']}"
            f"&timestamp={config['verifyTimestamp']}&url={url}"
        )
        assert config["verifyAppId"] == "wx-test-app"
        assert config["verifySignature"] == hashlib.sha1(plain.encode()).hexdigest()  # noqa: S324
        card = invoked["updateAppMessageShareData"]
        assert card["title"].startswith("图神经网络的过平滑问题")
        assert card["link"] == url
        assert card["imgUrl"] == f"{live_server.url}/sessions/{session.pk}/poster.png"
        assert "updateTimelineShareData" in invoked
        sdk = page.locator("script[src*='jweixin']")
        expect(sdk).to_have_count(1)
        assert sdk.get_attribute("src").startswith("/static/")  # self-hosted
        assert not violations, violations
    finally:
        context.close()


def test_outside_wechat_nothing_is_loaded(live_server, page_for, wechat_api):
    page = page_for("zh-CN")
    page.goto(live_server.url + "/")

    expect(page.locator("script[src*='jweixin']")).to_have_count(0)
    assert "/cgi-bin/ticket/getticket" not in wechat_api.paths

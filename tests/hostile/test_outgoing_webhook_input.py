"""Hostile input to the organisers' outgoing-webhook page: every bad address, event or
description is a form error (never a 500, never a saved endpoint), private addresses are
refused as for the chat webhooks, and a tampered or replayed delivery fails verification."""

import pytest
from django.urls import reverse
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from topicshare.notifications.models import WebhookEndpoint
from topicshare.notifications.outgoing import webhook_endpoint_save, webhook_test_send

# The page is in the site's language, zh-hans.
NOT_PUBLIC = "Webhook 地址不是公网地址；论坛只向公网主机发送消息。"


def _post(client, **fields):
    data = {"url": "https://93.184.215.14/hook", "description": "", "events": ["topic.accepted"]}
    data.update(fields)
    return client.post(reverse("webhook-add"), data)


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"url": "https://example.org/" + "a" * 600}, "url"),
        ({"url": "ftp://example.org/hook"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "file:///etc/passwd"}, "url"),
        ({"url": "https://user:pw@93.184.215.14/hook"}, "url"),
        ({"url": "https://169.254.169.254/latest/meta-data/"}, "url"),
        ({"url": "https://127.0.0.1:6379/"}, "url"),
        ({"url": "https://[::ffff:127.0.0.1]/"}, "url"),
        ({"url": "http://93.184.215.14/hook"}, "url"),
        ({"url": "https://exa\u0000mple.org/"}, "url"),
        ({"events": ["topic.deleted"]}, "events"),
        ({"events": ["webhook.test"]}, "events"),
        ({"events": []}, "events"),
        ({"description": "长" * 100_000}, "description"),
    ],
)
def test_bad_input_is_a_form_error_and_saves_nothing(client, organiser, settings, fields, field):
    settings.TOPICSHARE_WEBHOOKS_ALLOW_PRIVATE = False  # as in production
    client.force_login(organiser)

    response = _post(client, **fields)

    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    assert WebhookEndpoint.objects.count() == 0


def test_a_private_address_says_why(client, organiser, settings):
    settings.TOPICSHARE_WEBHOOKS_ALLOW_PRIVATE = False
    client.force_login(organiser)

    response = _post(client, url="https://10.0.0.1/hook")

    assert response.context["form"].errors == {"url": [NOT_PUBLIC]}


def test_unknown_actions_and_endpoints_are_refused(client, organiser, db):
    endpoint = webhook_endpoint_save(
        endpoint=WebhookEndpoint(url="https://127.0.0.1:9/hook", events=["topic.accepted"])
    )
    client.force_login(organiser)

    assert client.post(reverse("webhook-action", args=[endpoint.pk, "drop"])).status_code == 403
    assert client.get(reverse("webhook-edit", args=[endpoint.pk + 1])).status_code == 404
    assert client.get(reverse("webhook-action", args=[endpoint.pk, "delete"])).status_code == 405
    assert WebhookEndpoint.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_tampered_or_replayed_delivery_fails_verification(chat_server):
    from topicshare.notifications.outbox import notifications_dispatch

    endpoint = webhook_endpoint_save(
        endpoint=WebhookEndpoint(url=chat_server.url("/hook"), events=["topic.accepted"])
    )
    webhook_test_send(endpoint=endpoint)
    notifications_dispatch(materialise=False)
    received = chat_server.only_request()
    receiver = Webhook(endpoint.secret)
    old = str(int(received.headers["webhook-timestamp"]) - 3600)

    assert receiver.verify(received.body, received.headers)["type"] == "webhook.test"
    with pytest.raises(WebhookVerificationError):
        receiver.verify(received.body.replace(b"webhook.test", b"topic.accepted"), received.headers)
    with pytest.raises(WebhookVerificationError):
        receiver.verify(received.body, {**received.headers, "webhook-timestamp": old})
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + "QUJD" * 8).verify(received.body, received.headers)

"""Outgoing webhooks for integrations: emitted by the real domain services, delivered by the
outbox's sweep to a real receiver on 127.0.0.1 that verifies the Standard Webhooks signature."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from library.services import item_for_session, item_update_materials
from members.roles import Role
from members.services import role_set
from sessions.models import TopicStatus
from sessions.topics.services import topic_transition
from sessions.topics.slots import track_slots
from sessions.weekly.scheduling import session_cancel, session_move, session_schedule
from tests.factories import TopicFactory, TrackFactory, UserFactory
from topicshare.core.links import absolute_url
from topicshare.notifications.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from topicshare.notifications.outbox import notifications_dispatch
from topicshare.notifications.outgoing import webhook_endpoint_save, webhook_test_send

# Deliveries are queued at the real time (after commit), so the sweeps run on the real clock.
NOW = timezone.now()
ALL_EVENTS = list(WebhookEvent.values)


def _endpoint(url: str, events=None) -> WebhookEndpoint:
    return webhook_endpoint_save(
        endpoint=WebhookEndpoint(url=url, description="CRM", events=events or ALL_EVENTS)
    )


def _sweep(later=datetime.timedelta(0)):
    return notifications_dispatch(now=timezone.now() + later, materialise=False)


def _verified(endpoint: WebhookEndpoint, received) -> dict:
    return Webhook(endpoint.secret).verify(received.body, received.headers)


def _schedule(organiser, title="LightGCN"):
    track = TrackFactory(slug="recsys", weekday=5, local_time=datetime.time(20, 30))
    topic = TopicFactory(status=TopicStatus.READY, track=track, title=title)
    start = track_slots(track=track, after=NOW)[0]
    return session_schedule(topic=topic, start=start, by=organiser, now=NOW)


@pytest.mark.django_db(transaction=True)
def test_a_scheduled_session_reaches_the_receiver_signed_with_public_fields_only(
    chat_server, organiser
):
    endpoint = _endpoint(chat_server.url("/hook"))

    session = _schedule(organiser)
    report = _sweep()

    received = chat_server.only_request()
    payload = _verified(endpoint, received)
    assert report.webhooks_sent == 1
    assert received.headers["webhook-id"].startswith("msg_")
    assert received.headers["webhook-signature"].startswith("v1,")
    assert payload["type"] == "session.scheduled"
    assert payload["data"] == {
        "id": session.pk,
        "title": "LightGCN",
        "url": absolute_url(f"/sessions/{session.pk}/"),
        "start": timezone.localtime(session.start).isoformat(),
        "end": timezone.localtime(session.end).isoformat(),
        "track": "recsys",
        "status": "scheduled",
        "topic": session.topic_id,
    }
    assert payload["data"]["start"].endswith("T20:30:00+08:00")
    assert "meeting" not in received.body.decode()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("sent", 1, 200)
    assert delivery.message_id == received.headers["webhook-id"]


@pytest.mark.django_db(transaction=True)
def test_every_event_type_is_emitted_by_its_domain_service(chat_server, organiser):
    endpoint = _endpoint(chat_server.url("/hook"))
    topic = TopicFactory(status=TopicStatus.PROPOSED, title="SASRec")
    topic_transition(topic=topic, to=TopicStatus.ACCEPTED, by=organiser)
    session = _schedule(organiser)
    later = track_slots(track=session.track, after=session.start)[0]
    session_move(session=session, start=later, by=organiser, now=NOW)
    item = item_for_session(session=session)
    item_update_materials(
        item=item, by=organiser, recording_url="https://pan.baidu.com/s/abc", extraction_code="g1"
    )
    session_cancel(session=session, by=organiser, reason="ill")
    person = UserFactory(role=Role.AUDIENCE)
    role_set(user=person, role=Role.MEMBER, by=organiser)

    _sweep()

    types = sorted(_verified(endpoint, r)["type"] for r in chat_server.received)
    assert types == sorted(ALL_EVENTS)
    bodies = b"".join(r.body for r in chat_server.received).decode()
    assert "extraction" not in bodies and "pan.baidu.com" not in bodies
    assert person.email not in bodies


@pytest.mark.django_db(transaction=True)
def test_a_receiver_that_fails_once_gets_the_delivery_again_and_it_is_sent(chat_server, organiser):
    endpoint = _endpoint(chat_server.url("/hook"), events=["session.scheduled"])
    chat_server.statuses = [500]
    _schedule(organiser)

    first = _sweep()
    delivery = WebhookDelivery.objects.get()
    assert (first.webhooks_sent, delivery.status, delivery.last_status_code) == (0, "pending", 500)
    early = _sweep(datetime.timedelta(minutes=1))
    second = _sweep(datetime.timedelta(minutes=3))

    delivery.refresh_from_db()
    assert (early.webhooks_sent, second.webhooks_sent) == (0, 1)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("sent", 2, 200)
    assert [entry["status_code"] for entry in delivery.log] == [500, 200]
    ids = {r.headers["webhook-id"] for r in chat_server.received}
    assert len(chat_server.received) == 2 and len(ids) == 1
    for received in chat_server.received:
        _verified(endpoint, received)


@pytest.mark.django_db(transaction=True)
def test_running_the_sweep_twice_and_emitting_twice_sends_once(chat_server, organiser):
    _endpoint(chat_server.url("/hook"))
    topic = TopicFactory(status=TopicStatus.PROPOSED)
    topic_transition(topic=topic, to=TopicStatus.ACCEPTED, by=organiser)
    session = _schedule(organiser)
    item_for_session(session=session)
    item_for_session(session=session)  # idempotent: the same item, no second event

    _sweep()
    _sweep()

    assert sorted(WebhookDelivery.objects.values_list("event_type", flat=True)) == [
        "library_item.added",
        "session.scheduled",
        "topic.accepted",
    ]
    assert len(chat_server.received) == 3


@pytest.mark.django_db(transaction=True)
def test_only_subscribed_active_endpoints_get_an_event(chat_server, organiser):
    _endpoint(chat_server.url("/wanted"), events=["session.scheduled"])
    _endpoint(chat_server.url("/other"), events=["member.admitted"])
    inactive = _endpoint(chat_server.url("/inactive"), events=["session.scheduled"])
    inactive.active = False
    inactive.save()

    _schedule(organiser)
    _sweep()

    assert [r.path for r in chat_server.received] == ["/wanted"]


@pytest.mark.parametrize(
    ("scheme", "error"),
    [
        ("http", "The webhook address must start with https://."),
        (
            "https",
            "The webhook address is not a public internet address; the forum posts only to "
            "public hosts.",
        ),
    ],
)
@pytest.mark.django_db(transaction=True)
def test_a_refused_address_is_never_contacted_and_the_delivery_fails(
    chat_server, organiser, settings, scheme, error
):
    endpoint = _endpoint(chat_server.url("/hook").replace("http", scheme, 1))
    settings.TOPICSHARE_WEBHOOKS_ALLOW_PRIVATE = False  # as in production
    webhook_test_send(endpoint=endpoint)

    report = _sweep()

    delivery = WebhookDelivery.objects.get()
    assert chat_server.received == []
    assert (report.webhooks_failed, delivery.status, delivery.attempts) == (1, "failed", 1)
    assert delivery.last_error == error


def test_a_non_https_address_is_refused_where_private_addresses_are_not_allowed(settings):
    from topicshare.core.egress import AddressRefused
    from topicshare.notifications.outgoing import endpoint_address_check

    settings.TOPICSHARE_WEBHOOKS_ALLOW_PRIVATE = False
    with pytest.raises(AddressRefused) as refused:
        endpoint_address_check(url="http://93.184.215.14/hook", resolve=False)
    assert str(refused.value) == "The webhook address must start with https://."
    assert endpoint_address_check(url="https://93.184.215.14/hook", resolve=False) == (
        "93.184.215.14"
    )


def test_the_secret_is_a_standard_webhooks_secret(db):
    import base64

    endpoint = _endpoint("http://127.0.0.1:9/hook")
    assert endpoint.secret.startswith("whsec_")
    assert len(base64.b64decode(endpoint.secret.removeprefix("whsec_"))) == 32


# --- The organisers' page ---------------------------------------------------------------------


@pytest.mark.parametrize("role", [None, Role.AUDIENCE, Role.MEMBER, Role.COMMITTEE])
def test_the_webhooks_pages_are_for_organisers_only(client, db, role):
    endpoint = _endpoint("http://127.0.0.1:9/hook")
    if role is not None:
        client.force_login(UserFactory(role=role))
    pages = [
        ("get", reverse("webhooks")),
        ("get", reverse("webhook-add")),
        ("get", reverse("webhook-edit", args=[endpoint.pk])),
        ("post", reverse("webhook-action", args=[endpoint.pk, "rotate"])),
        ("post", reverse("webhook-action", args=[endpoint.pk, "test"])),
        ("post", reverse("webhook-action", args=[endpoint.pk, "delete"])),
    ]
    for method, url in pages:
        response = getattr(client, method)(url)
        assert response.status_code == (302 if role is None else 403), url
    assert WebhookEndpoint.objects.get().secret == endpoint.secret
    assert WebhookDelivery.objects.count() == 0


def test_an_organiser_adds_a_webhook_and_sees_the_secret_once(client, organiser, chat_server):
    client.force_login(organiser)
    response = client.post(
        reverse("webhook-add"),
        {"url": chat_server.url("/hook"), "description": "CRM", "events": ["topic.accepted"],
         "active": "on"},
    )  # fmt: skip
    endpoint = WebhookEndpoint.objects.get()
    first = client.get(reverse("webhooks"))
    second = client.get(reverse("webhooks"))

    assert response.status_code == 302
    assert (endpoint.events, endpoint.created_by) == (["topic.accepted"], organiser)
    assert endpoint.secret in first.content.decode()
    assert endpoint.secret not in second.content.decode()


@pytest.mark.django_db(transaction=True)
def test_an_organiser_sends_a_test_event_rotates_and_deletes(client, organiser, chat_server):
    endpoint = _endpoint(chat_server.url("/hook"))
    client.force_login(organiser)

    client.post(reverse("webhook-action", args=[endpoint.pk, "test"]))
    _sweep()
    page = client.get(reverse("webhook-edit", args=[endpoint.pk]))
    client.post(reverse("webhook-action", args=[endpoint.pk, "rotate"]))
    rotated = WebhookEndpoint.objects.get().secret

    assert _verified(endpoint, chat_server.only_request())["type"] == "webhook.test"
    assert "webhook.test" in page.content.decode()
    assert rotated != endpoint.secret and rotated.startswith("whsec_")
    client.post(reverse("webhook-action", args=[endpoint.pk, "delete"]))
    assert (WebhookEndpoint.objects.count(), WebhookDelivery.objects.count()) == (0, 0)

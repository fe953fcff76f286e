"""Files only some people may see never live under /media/: a group's QR code and library
slides are in the private storage and served by views that check permissions."""

import io

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from library.models import LibraryItem
from members.roles import Role
from sessions.models import Participation, Topic
from tests.factories import TopicFactory, UserFactory

pytestmark = pytest.mark.django_db


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, "PNG")
    return buffer.getvalue()


def test_private_fields_use_the_private_storage():
    assert Topic._meta.get_field("group_qr").storage is storages["private"]
    assert LibraryItem._meta.get_field("slides_file").storage is storages["private"]


def test_group_qr_is_served_to_the_group_only(client):
    proposer = UserFactory(role=Role.MEMBER)
    topic = TopicFactory(proposer=proposer)
    participant = UserFactory(role=Role.MEMBER)
    Participation.objects.create(topic=topic, user=participant, role="participant")
    client.force_login(proposer)
    response = client.post(
        reverse("topics:group", args=[topic.pk]),
        {"save_group": "1", "group_chat_link": "",
         "group_qr": SimpleUploadedFile("我的群.png", _png(), "image/png")},
    )  # fmt: skip
    topic.refresh_from_db()
    assert response.status_code in (200, 302)
    assert topic.group_qr.name.startswith("topics/qr/") and "我的群" not in topic.group_qr.name
    assert storages["private"].exists(topic.group_qr.name)
    assert not storages["default"].exists(topic.group_qr.name)
    url = reverse("topics:group-qr", args=[topic.pk])

    client.force_login(participant)
    image = client.get(url)
    assert image.status_code == 200 and image["Content-Type"] == "image/png"
    assert image["X-Content-Type-Options"] == "nosniff"
    assert url in client.get(reverse("topics:group", args=[topic.pk])).content.decode()

    client.force_login(UserFactory(role=Role.MEMBER))  # not in the group
    assert client.get(url).status_code == 403
    client.logout()
    assert client.get(url).status_code == 302


def test_a_topic_without_a_qr_code_or_with_a_broken_one_is_a_404(client):
    proposer = UserFactory(role=Role.MEMBER)
    topic = TopicFactory(proposer=proposer)
    client.force_login(proposer)
    url = reverse("topics:group-qr", args=[topic.pk])
    assert client.get(url).status_code == 404
    name = storages["private"].save("topics/qr/broken", io.BytesIO(b"<svg onload=alert(1)>"))
    Topic.objects.filter(pk=topic.pk).update(group_qr=name)
    assert client.get(url).status_code == 404

"""Uploads in an S3-compatible object store (S3_* settings): a real S3 server on 127.0.0.1
(moto in server mode), the site's own forms and permission-checked views, `requests` for
what a browser does with the answers."""

import io
import random
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.urls import reverse
from PIL import Image

from library.models import LibraryItem
from members.roles import Role
from sessions.models import Participation
from tests.factories import TopicFactory, UserFactory
from tests.s3server import object_storages, running_s3_server
from topicshare.core.uploads import serve_file
from topicshare.forum.models import ForumSettings

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def s3_server():
    with running_s3_server() as server:
        yield server


PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n" + b"%" * 200_000


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(buffer, "PNG")
    return buffer.getvalue()


def _files_under(root) -> list[Path]:
    root = Path(root)
    return sorted(path for path in root.rglob("*") if path.is_file()) if root.exists() else []


@pytest.fixture
def presented_item():
    presenter = UserFactory(role=Role.MEMBER)
    item = LibraryItem.objects.create(title="LightGCN")
    item.presenters.set([presenter])
    return item, presenter


def test_slides_uploaded_through_the_form_are_served_from_the_bucket(
    client, s3_server, presented_item
):
    item, presenter = presented_item
    media_before = _files_under(settings.MEDIA_ROOT) + _files_under(settings.PRIVATE_MEDIA_ROOT)
    with object_storages(s3_server) as (bucket, private_bucket):
        client.force_login(presenter)
        response = client.post(
            reverse("library:materials", args=[item.pk]),
            {"slides_file": SimpleUploadedFile("讲义.pdf", PDF, "application/pdf")},
        )
        assert response.status_code == 302
        item.refresh_from_db()
        assert s3_server.keys(private_bucket) == [item.slides_file.name]
        assert s3_server.keys(bucket) == []

        slides = client.get(reverse("library:slides", args=[item.pk]))
        assert slides.status_code == 302
        assert slides["Cache-Control"] == "private, no-store"
        link = slides["Location"]
        assert link.startswith(
            f"{s3_server.endpoint_url}/{private_bucket}/{item.slides_file.name}?"
        )
        query = parse_qs(urlsplit(link).query)
        assert query["X-Amz-Expires"] == ["60"]
        assert query["response-content-type"] == ["application/pdf"]
        assert query["response-content-disposition"] == [
            "inline; filename*=utf-8''%E8%AE%B2%E4%B9%89.pdf"
        ]
        download = requests.get(link, timeout=10)
        assert download.status_code == 200
        assert download.content == PDF
        assert download.headers["Content-Type"] == "application/pdf"
        # The link is never part of a page: the item page links to the checking view only.
        page = client.get(reverse("library:detail", args=[item.pk])).content.decode()
        assert private_bucket not in page
        assert reverse("library:slides", args=[item.pk]) in page
    assert _files_under(settings.MEDIA_ROOT) + _files_under(settings.PRIVATE_MEDIA_ROOT) == (
        media_before
    )


def test_a_private_qr_code_is_refused_without_a_link_and_redirected_for_the_group(
    client, s3_server
):
    proposer = UserFactory(role=Role.MEMBER)
    topic = TopicFactory(proposer=proposer)
    participant = UserFactory(role=Role.MEMBER)
    Participation.objects.create(topic=topic, user=participant, role="participant")
    with object_storages(s3_server) as (_bucket, private_bucket):
        client.force_login(proposer)
        client.post(
            reverse("topics:group", args=[topic.pk]),
            {"save_group": "1", "group_chat_link": "",
             "group_qr": SimpleUploadedFile("群.png", _png(), "image/png")},
        )  # fmt: skip
        topic.refresh_from_db()
        assert s3_server.keys(private_bucket) == [topic.group_qr.name]
        url = reverse("topics:group-qr", args=[topic.pk])

        client.force_login(UserFactory(role=Role.MEMBER))  # not in the group
        refused = client.get(url)
        assert refused.status_code == 403
        assert "Location" not in refused
        assert private_bucket.encode() not in refused.content

        client.force_login(participant)
        allowed = client.get(url)
        assert allowed.status_code == 302
        image = requests.get(allowed["Location"], timeout=10)
        assert (image.status_code, image.content) == (200, _png())
        assert image.headers["Content-Type"] == "image/png"


def test_an_object_that_is_not_slides_is_not_linked(rf, s3_server, presented_item):
    item, _presenter = presented_item
    with object_storages(s3_server):
        field = LibraryItem._meta.get_field("slides_file")
        name = field.storage.save("library/slides/x.pdf", ContentFile(b"<html>hi</html>"))
        item = LibraryItem.objects.get(pk=item.pk)  # its FieldFile with this storage
        item.slides_file.name = name
        assert item.slides_file.storage.exists(name)
        with pytest.raises(Http404):
            serve_file(rf.get("/"), item.slides_file, download_name="x.pdf")
        item.slides_file.name = name + "-gone"
        with pytest.raises(Http404):
            serve_file(rf.get("/"), item.slides_file, download_name="x.pdf")


def test_the_public_qr_code_is_stored_in_the_bucket_and_linked_there(client, s3_server):
    with object_storages(s3_server) as (bucket, private_bucket):
        forum = ForumSettings.load()
        forum.official_account_qr.save("qr.png", ContentFile(_png()))
        assert s3_server.keys(bucket) == [forum.official_account_qr.name]
        assert s3_server.keys(private_bucket) == []
        link = forum.official_account_qr.url
        assert link == f"{s3_server.endpoint_url}/{bucket}/{forum.official_account_qr.name}"
        assert "X-Amz" not in link
        assert link in client.get(reverse("join")).content.decode()
        image = requests.get(link, timeout=10)
        assert (image.status_code, image.content) == (200, _png())


def test_s3_settings_choose_the_object_store_for_both_aliases():
    script = (
        "import django; django.setup(); from django.conf import settings as s; "
        "d, p = s.STORAGES['default'], s.STORAGES['private']; "
        "print(d['BACKEND'], d['OPTIONS']['default_acl'], d['OPTIONS']['querystring_auth']); "
        "print(p['BACKEND'], p['OPTIONS']['default_acl'], p['OPTIONS']['querystring_auth'], "
        "p['OPTIONS']['querystring_expire'], repr(p['OPTIONS']['location'])); "
        "print(s.SECURE_CSP['img-src'], s.SECURE_CSP['frame-src'])"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "topicshare.settings.production",
        "DJANGO_SECRET_KEY": "x" * 60,
        "DJANGO_ALLOWED_HOSTS": "forum.example.org",
        "TOPICSHARE_SITE_URL": "https://forum.example.org",
        "TOPICSHARE_VAR_DIR": str(settings.VAR_DIR),
        "S3_BUCKET": "topicshare",
        "S3_ENDPOINT_URL": "http://s3:9000",
        "S3_PUBLIC_ENDPOINT_URL": "https://files.example.org",
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.splitlines() == [
        "topicshare.core.objectstorage.ObjectStorage public-read False",
        "topicshare.core.objectstorage.ObjectStorage None True 60 'private'",
        "[\"'self'\", 'data:', 'https://files.example.org'] "
        "[\"'self'\", 'https://files.example.org']",
    ]


def test_links_are_signed_for_the_public_endpoint(s3_server):
    from topicshare.core.objectstorage import ObjectStorage

    storage = ObjectStorage(
        bucket_name="b", endpoint_url=s3_server.endpoint_url,
        public_endpoint_url="https://files.example.org", access_key="k", secret_key="s",
        region_name="us-east-1", signature_version="s3v4", querystring_auth=True,
        querystring_expire=60,
    )  # fmt: skip
    link = storage.presigned_url("a/b.pdf", content_type="application/pdf", disposition="inline")
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "files.example.org", "/b/a/b.pdf")
    assert parse_qs(parts.query)["X-Amz-Expires"] == ["60"]


def test_create_buckets_creates_the_missing_ones_and_publishes_the_public_one(s3_server):
    from django.core.management import call_command

    from tests.s3server import s3_storages_setting, storages_setting

    out = io.StringIO()
    setting = s3_storages_setting(s3_server.endpoint_url, "made-public", "made-private")
    with storages_setting(setting):
        call_command("create_buckets", stdout=out)
        call_command("create_buckets", stdout=out)
    assert out.getvalue().splitlines() == [
        "Created bucket made-public.",
        "Bucket made-public: anyone may read its objects.",
        "Created bucket made-private.",
        "Bucket made-public exists.",
        "Bucket made-private exists.",
    ]
    client = s3_server.client()
    assert "made-public/*" in client.get_bucket_policy(Bucket="made-public")["Policy"]
    with pytest.raises(client.exceptions.ClientError):
        client.get_bucket_policy(Bucket="made-private")


def test_a_large_pptx_is_recognised_from_ranged_reads_and_linked_as_a_download(
    rf, s3_server, presented_item
):
    from tests.hostile.helpers import pptx_bytes

    # Incompressible, so that the end record and central directory lie far from the start.
    deck = pptx_bytes(**{"ppt/media/image1.bin": random.Random(0).randbytes(600_000)})
    item, _presenter = presented_item
    with object_storages(s3_server) as (_bucket, private_bucket):
        field = LibraryItem._meta.get_field("slides_file")
        item = LibraryItem.objects.get(pk=item.pk)  # its FieldFile with this storage
        item.slides_file.name = field.storage.save("library/slides/deck.pptx", ContentFile(deck))
        handle = field.storage.open_ranged(item.slides_file.name)
        response = serve_file(rf.get("/"), item.slides_file, download_name="讲义")
    assert len(deck) > 8 * handle.BLOCK
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["response-content-type"] == [
        "application/vnd.openxmlformats-officedocument.presentationml.presentation"
    ]
    assert query["response-content-disposition"] == [
        "attachment; filename*=utf-8''%E8%AE%B2%E4%B9%89.pptx"
    ]
    download = requests.get(response["Location"], timeout=10)
    assert download.content == deck
    assert s3_server.keys(private_bucket) == [item.slides_file.name]

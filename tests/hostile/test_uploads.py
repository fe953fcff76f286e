"""Disguised, oversize and empty files on every upload: a clear form error, nothing stored."""

import time

import pytest
from django.core.files.storage import storages
from django.test import override_settings
from django.urls import reverse

from library.models import LibraryItem
from members.models import Application
from members.roles import Role
from sessions.models import Topic, TopicStatus
from tests.factories import TopicFactory, UserFactory
from tests.hostile.helpers import (
    DISGUISED_IDS,
    DISGUISED_SLIDES,
    EXE,
    HTML,
    PDF,
    SVG,
    png_bytes,
    pptx_bytes,
    stored_files,
    upload,
    zip_bytes,
)

pytestmark = pytest.mark.django_db

APPLICATION = {
    "motivation": "I have read every paper in the archive and want to give back.",
    "paper_title": "BERT",
    "paper_url": "https://arxiv.org/abs/1810.04805",
}


def _all_files() -> list[str]:
    """Public and private storage alike: uploads may move from one to the other."""
    return stored_files(storages["default"]) + stored_files(storages["private"])


# --- Application slides (/join/apply/) ------------------------------------------------------


@pytest.mark.parametrize(("name", "content"), [(n, c) for _i, n, c in DISGUISED_SLIDES],
                         ids=DISGUISED_IDS)  # fmt: skip
def test_application_refuses_disguised_slides(client, name, content):
    client.force_login(UserFactory(role=Role.AUDIENCE))
    before = _all_files()

    response = client.post(
        reverse("join-apply"), {**APPLICATION, "slides": upload(name, content, "application/pdf")}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["slides"]
    assert Application.objects.count() == 0
    assert _all_files() == before


@override_settings(TOPICSHARE_MAX_UPLOAD_BYTES=64)
def test_application_refuses_slides_over_the_limit(client):
    client.force_login(UserFactory(role=Role.AUDIENCE))
    before = _all_files()

    response = client.post(
        reverse("join-apply"), {**APPLICATION, "slides": upload("big.pdf", PDF + b"%" * 64)}
    )

    errors = response.context["form"].errors["slides"]
    assert response.status_code == 200
    assert any("64" in error for error in errors), errors
    assert Application.objects.count() == 0
    assert _all_files() == before


def test_application_refuses_an_empty_file(client):
    client.force_login(UserFactory(role=Role.AUDIENCE))

    response = client.post(reverse("join-apply"), {**APPLICATION, "slides": upload("e.pdf", b"")})

    assert response.status_code == 200
    assert response.context["form"].errors["slides"]
    assert Application.objects.count() == 0


def test_application_zip_bomb_member_is_never_inflated(client):
    """A PPTX with a member that inflates to 200 MB: recognised from the directory alone, fast,
    and served only as a sandboxed download (the server never inflates it)."""
    bomb = pptx_bytes(**{"ppt/media/bomb.bin": b"\0" * (200 * 1024 * 1024)})
    client.force_login(applicant := UserFactory(role=Role.AUDIENCE))

    started = time.monotonic()
    response = client.post(reverse("join-apply"), {**APPLICATION, "slides": upload("s.pptx", bomb)})
    elapsed = time.monotonic() - started

    assert response.status_code in {200, 302}
    assert elapsed < 5
    application = Application.objects.filter(applicant=applicant).first()
    if application is not None:
        served = client.get(reverse("application-slides", args=[application.pk]))
        assert served["Content-Disposition"].startswith("attachment")
        assert served["Content-Security-Policy"] == "sandbox"
        assert served["X-Content-Type-Options"] == "nosniff"


def test_application_slides_file_name_never_reaches_the_path(client):
    client.force_login(UserFactory(role=Role.AUDIENCE))

    client.post(
        reverse("join-apply"),
        {**APPLICATION, "slides": upload("../../etc/<script>passwd.pdf", PDF)},
    )

    application = Application.objects.get()
    assert ".." not in application.slides.name
    assert "<" not in application.slides.name
    assert application.slides.name.startswith("applications/")
    assert application.slides.name.endswith(".pdf")


# --- Library materials ----------------------------------------------------------------------


@pytest.fixture
def presented_item():
    presenter = UserFactory(role=Role.MEMBER)
    item = LibraryItem.objects.create(title="LightGCN")
    item.presenters.set([presenter])
    return item, presenter


@pytest.mark.parametrize(("name", "content"), [(n, c) for _i, n, c in DISGUISED_SLIDES],
                         ids=DISGUISED_IDS)  # fmt: skip
def test_materials_refuse_disguised_slides(client, presented_item, name, content):
    item, presenter = presented_item
    client.force_login(presenter)
    before = _all_files()

    response = client.post(
        reverse("library:materials", args=[item.pk]), {"slides_file": upload(name, content)}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["slides_file"]
    item.refresh_from_db()
    assert (item.slides_file.name, item.slides_name) == ("", "")
    assert _all_files() == before


@override_settings(TOPICSHARE_MAX_UPLOAD_BYTES=64)
def test_materials_refuse_slides_over_the_limit(client, presented_item):
    item, presenter = presented_item
    client.force_login(presenter)

    response = client.post(
        reverse("library:materials", args=[item.pk]),
        {"slides_file": upload("big.pdf", PDF + b"%" * 64)},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["slides_file"]
    item.refresh_from_db()
    assert not item.slides_file


def test_materials_refuse_an_empty_file(client, presented_item):
    item, presenter = presented_item
    client.force_login(presenter)

    response = client.post(
        reverse("library:materials", args=[item.pk]), {"slides_file": upload("e.pdf", b"")}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["slides_file"]
    item.refresh_from_db()
    assert not item.slides_file


# --- The group's QR code (topic group page) ----------------------------------------------

QR_FILES = [
    ("html-as-png", "qr.png", HTML),
    ("svg-as-png", "qr.png", SVG),
    ("exe-as-png", "qr.png", EXE),
    ("pdf-as-jpg", "qr.jpg", PDF),
    ("png-named-html", "qr.html", png_bytes()),
    ("png-named-svg", "qr.svg", png_bytes()),
    ("zip-as-png", "qr.png", zip_bytes({"a.txt": b"x"})),
    ("truncated-png", "qr.png", png_bytes()[:40]),
    ("empty", "qr.png", b""),
]


@pytest.mark.parametrize(("name", "content"), [(n, c) for _i, n, c in QR_FILES],
                         ids=[i for i, _n, _c in QR_FILES])  # fmt: skip
def test_group_qr_refuses_files_that_are_not_images(client, name, content):
    topic = TopicFactory(status=TopicStatus.RECRUITING)
    client.force_login(topic.proposer)
    before = _all_files()

    response = client.post(
        reverse("topics:group", args=[topic.pk]),
        {"save_group": "1", "group_chat_link": "", "group_qr": upload(name, content, "image/png")},
    )

    assert response.status_code == 200
    assert response.context["group_form"].errors["group_qr"]
    assert not Topic.objects.get(pk=topic.pk).group_qr
    assert _all_files() == before


@override_settings(TOPICSHARE_MAX_IMAGE_BYTES=100, TOPICSHARE_MAX_UPLOAD_BYTES=100)
def test_group_qr_refuses_an_image_over_the_limit(client):
    topic = TopicFactory(status=TopicStatus.RECRUITING)
    client.force_login(topic.proposer)
    image = png_bytes((64, 64))
    assert len(image) > 100

    response = client.post(
        reverse("topics:group", args=[topic.pk]),
        {"save_group": "1", "group_qr": upload("qr.png", image, "image/png")},
    )

    assert response.status_code == 200
    assert response.context["group_form"].errors["group_qr"]
    assert not Topic.objects.get(pk=topic.pk).group_qr


def test_group_qr_pixel_bomb_is_refused_or_harmless(client):
    """A tiny PNG that claims 30,000 × 30,000 pixels (900 Mpx): Pillow's bomb guard."""
    topic = TopicFactory(status=TopicStatus.RECRUITING)
    client.force_login(topic.proposer)
    image = bytearray(png_bytes((1, 1)))
    image[16:24] = (30_000).to_bytes(4, "big") * 2  # the IHDR width and height

    response = client.post(
        reverse("topics:group", args=[topic.pk]),
        {"save_group": "1", "group_qr": upload("qr.png", bytes(image), "image/png")},
    )

    assert response.status_code == 200
    assert response.context["group_form"].errors["group_qr"]
    assert not Topic.objects.get(pk=topic.pk).group_qr


# --- Admin imports -------------------------------------------------------------------------

IMPORT_FILES = [
    ("exe", "archive.md", EXE),
    ("elf", "archive.json", b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 8),
    ("png", "archive.md", png_bytes()),
    ("zip", "archive.md", zip_bytes({"README.md": b"# Topic 1\n1. x"})),
    ("utf16", "archive.md", "### Topic 5\n1. 标题".encode("utf-16")),
    ("pdf", "archive.json", PDF + bytes(range(256))),
]


@pytest.mark.parametrize(("name", "content"), [(n, c) for _i, n, c in IMPORT_FILES],
                         ids=[i for i, _n, _c in IMPORT_FILES])  # fmt: skip
def test_admin_library_import_refuses_binary_files(client, organiser, name, content):
    client.force_login(organiser)

    response = client.post(
        reverse("admin:library_libraryitem_import"),
        {"file": upload(name, content), "format": "auto", "dry_run": ""},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert LibraryItem.objects.count() == 0


def test_admin_library_import_refuses_an_empty_file(client, organiser):
    client.force_login(organiser)

    response = client.post(
        reverse("admin:library_libraryitem_import"),
        {"file": upload("empty.md", b""), "format": "auto"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert LibraryItem.objects.count() == 0


def test_admin_library_import_refuses_a_file_over_the_limit(client, organiser, monkeypatch):
    monkeypatch.setattr("library.importers.detect.LIMITS.max_bytes", 100)
    client.force_login(organiser)
    text = "# 推荐\n\n" + "- [x](https://example.org/a)\n" * 20

    response = client.post(
        reverse("admin:library_libraryitem_import"),
        {"file": upload("list.md", text.encode()), "format": "auto"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert LibraryItem.objects.count() == 0


@pytest.mark.parametrize(("name", "content"), [(n, c) for _i, n, c in IMPORT_FILES],
                         ids=[i for i, _n, _c in IMPORT_FILES])  # fmt: skip
def test_admin_topic_csv_import_refuses_binary_files(client, organiser, name, content):
    client.force_login(organiser)

    response = client.post(
        reverse("admin:topic_sessions_topic_import"),
        {"file": upload(name.replace(".md", ".csv"), content), "dry_run": ""},
    )

    assert response.status_code == 200
    report = response.context["report"]
    assert report is not None and report.errors and not report.saved
    assert Topic.objects.count() == 0


def test_admin_topic_csv_import_refuses_an_empty_file(client, organiser):
    client.force_login(organiser)

    response = client.post(
        reverse("admin:topic_sessions_topic_import"), {"file": upload("t.csv", b"")}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert Topic.objects.count() == 0


def test_admin_topic_csv_import_refuses_a_file_over_the_limit(client, organiser, monkeypatch):
    monkeypatch.setattr("sessions.topics.csv_io.LIMITS.max_bytes", 50)
    client.force_login(organiser)
    data = b"title,track,proposer\n" + b"x,nlp,a@example.org\n" * 10

    response = client.post(
        reverse("admin:topic_sessions_topic_import"), {"file": upload("t.csv", data)}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["file"]
    assert Topic.objects.count() == 0

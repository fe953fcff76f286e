import io
import re
import struct
import zipfile

import pytest
from django import forms
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import InMemoryStorage, storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models
from django.db.migrations.writer import MigrationWriter
from django.db.models.fields.files import FieldFile
from django.http import Http404
from django.test import override_settings
from django.test.utils import isolate_apps
from django.utils import timezone, translation

from topicshare.core.uploads import (
    SLIDES_KINDS,
    SafeUploadTo,
    private_storage,
    serve_file,
    sniff_document,
    validate_slides_file,
)

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PPTX_TYPE = SLIDES_KINDS["pptx"]


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _pptx(**extra: bytes) -> bytes:
    return _zip(
        {
            "[Content_Types].xml": b'<?xml version="1.0"?><Types/>',
            "ppt/presentation.xml": b'<?xml version="1.0"?><p:presentation/>',
            **extra,
        }
    )


def _many_members_zip(count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("[Content_Types].xml", b"")
        archive.writestr("ppt/presentation.xml", b"")
        for number in range(count - 2):
            archive.writestr(f"m{number}", b"")
    return buffer.getvalue()


def _upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def _messages(file) -> list[str]:
    with translation.override("en"), pytest.raises(ValidationError) as caught:
        validate_slides_file(file)
    return caught.value.messages


NOT_SLIDES = ["This file is not a PDF or PowerPoint (.pptx) file."]


# --- sniff_document -------------------------------------------------------------------------


def test_sniff_document_recognises_pdf():
    assert sniff_document(io.BytesIO(PDF)) == "pdf"


def test_sniff_document_recognises_pptx():
    assert sniff_document(io.BytesIO(_pptx())) == "pptx"


def test_sniff_document_accepts_pdf_header_within_first_kilobyte():
    assert sniff_document(io.BytesIO(b"\x00" * 1000 + PDF)) == "pdf"


def test_sniff_document_refuses_pdf_header_after_first_kilobyte():
    assert sniff_document(io.BytesIO(b"\x00" * 1020 + PDF)) is None


def test_sniff_document_ignores_the_name():
    assert sniff_document(_upload("slides.pptx", PDF)) == "pdf"
    assert sniff_document(_upload("slides.pdf", _pptx())) == "pptx"


def test_sniff_document_restores_the_position():
    file = io.BytesIO(_pptx())
    file.seek(7)

    sniff_document(file)

    assert file.tell() == 7


def test_sniff_document_refuses_docx():
    docx = _zip({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})

    assert sniff_document(io.BytesIO(docx)) is None


def test_sniff_document_refuses_macro_enabled_presentation():
    pptm = _pptx(**{"ppt/vbaProject.bin": b"\x00" * 16})

    assert sniff_document(io.BytesIO(pptm)) is None


def test_sniff_document_refuses_pdf_and_zip_polyglot():
    assert sniff_document(io.BytesIO(PDF + _pptx())) is None


def test_sniff_document_refuses_zip_with_too_many_members():
    assert sniff_document(io.BytesIO(_many_members_zip(20_000))) is None


def test_sniff_document_refuses_zip_that_understates_its_member_count():
    data = bytearray(_many_members_zip(20_000))
    # End record without a comment: the last 22 bytes; the two entry counts at offsets 8 and 10.
    data[-14:-10] = struct.pack("<HH", 1, 1)

    assert sniff_document(io.BytesIO(bytes(data))) is None


def test_sniff_document_refuses_zip_with_oversized_central_directory():
    # Few members but a directory of over 2.5 MB: ZipFile would have to parse all of it.
    long_names = {f"ppt/{number:04d}-{'x' * 1000}": b"" for number in range(3000)}

    assert sniff_document(io.BytesIO(_pptx(**long_names))) is None


def test_sniff_document_accepts_zip_at_the_member_limit():
    assert sniff_document(io.BytesIO(_many_members_zip(10_000))) == "pptx"


def test_sniff_document_refuses_truncated_zip():
    assert sniff_document(io.BytesIO(_pptx()[:-30])) is None


def test_sniff_document_refuses_zip_with_bad_central_directory():
    end_record = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 2, 2, 100, 999_999, 0)

    assert sniff_document(io.BytesIO(b"PK\x03\x04garbage" + end_record)) is None


def test_sniff_document_refuses_empty_file():
    assert sniff_document(io.BytesIO(b"")) is None


# --- validate_slides_file -------------------------------------------------------------------


def test_validate_slides_file_accepts_pdf_and_pptx():
    validate_slides_file(_upload("paper.pdf", PDF))
    validate_slides_file(_upload("Deck.PPTX", _pptx()))


def test_validate_slides_file_accepts_chinese_name():
    validate_slides_file(_upload("论文分享 第3期.pdf", PDF))


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("setup.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64),
        ("page.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>"),
        ("photo.pdf", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + b"\x00" * 64),
        ("report.pptx", _zip({"[Content_Types].xml": b"<T/>", "word/document.xml": b"<d/>"})),
        ("broken.pptx", b"PK\x03\x04" + b"\x00" * 200),
        ("empty.pdf", b""),
    ],
)
def test_validate_slides_file_refuses_other_content(name, content):
    assert _messages(_upload(name, content)) == NOT_SLIDES


def test_validate_slides_file_refuses_zip_bomb_of_members():
    assert _messages(_upload("bomb.pptx", _many_members_zip(20_000))) == NOT_SLIDES


def test_validate_slides_file_refuses_pdf_named_pptx():
    assert _messages(_upload("slides.pptx", PDF)) == [
        "This is a PDF file, so its name must end in .pdf."
    ]


def test_validate_slides_file_refuses_pptx_named_pdf():
    assert _messages(_upload("slides.pdf", _pptx())) == [
        "This is a PowerPoint file, so its name must end in .pptx."
    ]


def test_validate_slides_file_refuses_name_without_extension():
    assert _messages(_upload("slides", PDF)) == [
        "This is a PDF file, so its name must end in .pdf."
    ]


@override_settings(TOPICSHARE_MAX_UPLOAD_BYTES=1024)
def test_validate_slides_file_refuses_oversize_file():
    assert _messages(_upload("big.pdf", PDF + b"\x00" * 2000)) == [
        "The file is 2.0\xa0KB; the limit is 1.0\xa0KB."
    ]


@override_settings(TOPICSHARE_MAX_UPLOAD_BYTES=1024)
def test_validate_slides_file_accepts_file_at_the_limit():
    validate_slides_file(_upload("exact.pdf", PDF + b"\x00" * (1024 - len(PDF))))


def test_validate_slides_file_works_as_form_field_validator():
    class SlidesForm(forms.Form):
        slides = forms.FileField(validators=[validate_slides_file])

    with translation.override("en"):
        good = SlidesForm(files={"slides": _upload("论文.pdf", PDF)})
        bad = SlidesForm(files={"slides": _upload("论文.pdf", b"<html>")})

        assert good.is_valid()
        assert not bad.is_valid()
        assert bad.errors["slides"] == NOT_SLIDES


# --- safe_upload_to -------------------------------------------------------------------------

PATH = re.compile(r"^applications/(\d{4})/(\d{2})/[0-9a-f]{32}\.(pdf|pptx|bin)$")


def _application_model():
    """A throwaway model; call it inside isolate_apps so that it never reaches migrations."""

    class Application(models.Model):
        slides = models.FileField(storage=private_storage, upload_to=SafeUploadTo("applications"))

        class Meta:
            app_label = "topicshare"

        def __str__(self):
            return self.slides.name

    return Application


def _assert_safe_path(path: str, extension: str) -> None:
    today = timezone.localdate()
    match = PATH.match(path)
    assert match, path
    assert match.groups() == (f"{today:%Y}", f"{today:%m}", extension)
    assert ".." not in path


@isolate_apps("topicshare")
def test_safe_upload_to_stores_under_random_name_with_sniffed_extension():
    Application = _application_model()
    application = Application(slides=_upload("../../报告 secret.pdf", _pptx()))

    stored = Application._meta.get_field("slides").pre_save(application, add=True)

    _assert_safe_path(stored.name, "pptx")
    assert "secret" not in stored.name
    assert "报告" not in stored.name
    assert storages["private"].exists(stored.name)
    assert not storages["default"].exists(stored.name)


@isolate_apps("topicshare")
def test_safe_upload_to_falls_back_to_the_name_extension():
    Application = _application_model()
    upload_to = Application._meta.get_field("slides").upload_to

    _assert_safe_path(upload_to(Application(), "../../Deck.PPTX"), "pptx")
    _assert_safe_path(upload_to(Application(), "paper.pdf"), "pdf")
    _assert_safe_path(upload_to(Application(), "payload.html"), "bin")
    _assert_safe_path(upload_to(None, "no-extension"), "bin")


def test_safe_upload_to_gives_a_new_name_each_time():
    upload_to = SafeUploadTo("applications")

    assert upload_to(None, "a.pdf") != upload_to(None, "a.pdf")


@pytest.mark.parametrize("prefix", ["", "/abs", "../up", "a/../../b", "a\\b"])
def test_safe_upload_to_refuses_unsafe_prefix(prefix):
    with pytest.raises(ValueError, match="Unsafe upload prefix"):
        SafeUploadTo(prefix)


def test_safe_upload_to_serialises_for_migrations():
    upload_to = SafeUploadTo("library/slides")

    serialised, imports = MigrationWriter.serialize(upload_to)

    assert serialised == "topicshare.core.uploads.SafeUploadTo('library/slides')"
    assert imports == {"import topicshare.core.uploads"}
    assert upload_to.deconstruct() == (
        "topicshare.core.uploads.SafeUploadTo",
        ("library/slides",),
        {},
    )
    assert upload_to == SafeUploadTo("library/slides")


def test_private_storage_is_the_private_alias_and_serialises():
    field = models.FileField(storage=private_storage)

    assert private_storage() is storages["private"]
    assert isinstance(field.storage, InMemoryStorage)
    assert field.storage is not storages["default"]
    assert field.deconstruct()[3]["storage"] is private_storage


# --- serve_file -----------------------------------------------------------------------------


def _stored(content: bytes) -> FieldFile:
    field = models.FileField(storage=private_storage)
    name = storages["private"].save("served/file.bin", ContentFile(content))
    return FieldFile(None, field, name)


def test_serve_file_serves_pdf_inline_with_chinese_name(rf):
    response = serve_file(rf.get("/"), _stored(PDF), download_name="论文 分享.pdf")

    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        "inline; filename*=utf-8''%E8%AE%BA%E6%96%87%20%E5%88%86%E4%BA%AB.pdf"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "Content-Security-Policy" not in response  # the browser's PDF viewer must run
    assert response["Content-Length"] == str(len(PDF))
    assert b"".join(response.streaming_content) == PDF


def test_serve_file_serves_pptx_as_attachment(rf):
    pptx = _pptx()

    response = serve_file(rf.get("/"), _stored(pptx), download_name="deck.pptx")

    assert response["Content-Type"] == PPTX_TYPE
    assert response["Content-Disposition"] == 'attachment; filename="deck.pptx"'
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "sandbox"
    assert b"".join(response.streaming_content) == pptx


def test_serve_file_types_by_content_and_fixes_the_download_name(rf):
    response = serve_file(rf.get("/"), _stored(PDF), download_name="slides.pptx")

    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'inline; filename="slides.pptx.pdf"'


def test_serve_file_drops_control_characters_from_the_download_name(rf):
    response = serve_file(rf.get("/"), _stored(PDF), download_name="a\r\nb\x00.pdf")

    assert response["Content-Disposition"] == 'inline; filename="ab.pdf"'


def test_serve_file_refuses_stored_content_that_is_not_slides(rf):
    with pytest.raises(Http404):
        serve_file(rf.get("/"), _stored(b"<html>hi</html>"), download_name="x.pdf")


def test_serve_file_missing_from_storage_is_404(rf):
    field = models.FileField(storage=private_storage)
    missing = FieldFile(None, field, "served/does-not-exist.pdf")

    with pytest.raises(Http404):
        serve_file(rf.get("/"), missing, download_name="x.pdf")


def test_serve_file_empty_field_is_404(rf):
    field = models.FileField(storage=private_storage)

    with pytest.raises(Http404):
        serve_file(rf.get("/"), FieldFile(None, field, ""), download_name="x.pdf")

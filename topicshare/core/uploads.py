"""Uploads of slides (PDF and PowerPoint): recognised by content, stored under names we choose,
served with a content type that matches what is actually stored."""

import logging
import unicodedata
import uuid
import zipfile
from pathlib import PurePath, PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

SLIDES_KINDS = {
    "pdf": "application/pdf",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
_KIND_LABELS = {"pdf": "PDF", "pptx": "PowerPoint"}

# PDF readers accept the header anywhere in the first kilobyte.
_PDF_SIGNATURE = b"%PDF-"
_PDF_HEADER_WINDOW = 1024

ZIP_MAX_MEMBERS = 10_000
# ZipFile parses the whole central directory before the members can be counted, and the count
# in the end record may lie: cap the directory's size too, so that a small upload cannot make
# us build millions of entries. Real PPTX entries take about 100 bytes each.
_ZIP_MAX_CENTRAL_DIRECTORY_BYTES = ZIP_MAX_MEMBERS * 256
# Open XML part names are case-insensitive.
_PPTX_REQUIRED_MEMBERS = {"[content_types].xml", "ppt/presentation.xml"}
# Only macro-enabled presentations (.pptm) carry VBA; PowerPoint refuses them as .pptx.
_PPTX_FORBIDDEN_MEMBERS = {"ppt/vbaproject.bin"}


def sniff_document(file) -> str | None:
    """Return "pdf" or "pptx" by looking at the content, else None.

    Reads the first kilobyte and the ZIP end record and central directory, never the whole file
    and never a compressed member. A file that is both (a polyglot) is neither. The file's
    position is restored."""
    start = file.tell()
    try:
        file.seek(0)
        is_pdf = _PDF_SIGNATURE in file.read(_PDF_HEADER_WINDOW)
        is_pptx = _is_pptx(file)
    finally:
        file.seek(start)
    if is_pdf == is_pptx:
        return None
    return "pdf" if is_pdf else "pptx"


def _is_pptx(file) -> bool:
    try:
        # The same end-record reader that is_zipfile() and ZipFile use, so the limits below apply
        # to exactly the directory that ZipFile would go on to parse.
        end_record = zipfile._EndRecData(file)
        if not end_record:
            return False
        if (
            end_record[zipfile._ECD_ENTRIES_TOTAL] > ZIP_MAX_MEMBERS
            or end_record[zipfile._ECD_SIZE] > _ZIP_MAX_CENTRAL_DIRECTORY_BYTES
        ):
            return False
        with zipfile.ZipFile(file) as archive:
            members = archive.infolist()
    except Exception:  # Crafted archives raise many kinds of error; each means "not a PPTX".
        return False
    if len(members) > ZIP_MAX_MEMBERS:
        return False
    names = {member.filename.lower() for member in members}
    return names >= _PPTX_REQUIRED_MEMBERS and not _PPTX_FORBIDDEN_MEMBERS & names


def _extension(name: str) -> str:
    return PurePath(name or "").suffix.lower().removeprefix(".")


def validate_slides_file(file) -> None:
    limit = settings.TOPICSHARE_MAX_UPLOAD_BYTES
    if file.size > limit:
        raise ValidationError(
            _("The file is %(size)s; the limit is %(limit)s."),
            code="file_too_large",
            params={"size": filesizeformat(file.size), "limit": filesizeformat(limit)},
        )
    kind = sniff_document(file)
    if kind is None:
        raise ValidationError(
            _("This file is not a PDF or PowerPoint (.pptx) file."), code="not_slides"
        )
    # A name that disagrees with the content would be downloaded and opened as the wrong type.
    if _extension(file.name) != kind:
        raise ValidationError(
            _("This is a %(kind)s file, so its name must end in .%(extension)s."),
            code="extension_mismatch",
            params={"kind": _KIND_LABELS[kind], "extension": kind},
        )


@deconstructible(path="topicshare.core.uploads.SafeUploadTo")
class SafeUploadTo:
    """An `upload_to` that stores `<prefix>/<yyyy>/<mm>/<random>.<pdf|pptx|bin>`.

    The user's file name never reaches the path. The extension comes from the content of the
    pending upload on the field that uses this object (Django passes only the name, so the field
    is found on the instance); when there is none, e.g. `field_file.save(name, content)` on an
    empty field, it falls back to the name's extension if that is pdf/pptx, else "bin"."""

    def __init__(self, prefix: str):
        parts = PurePosixPath(prefix).parts
        if not parts or prefix.startswith("/") or "\\" in prefix or ".." in parts:
            raise ValueError(f"Unsafe upload prefix: {prefix!r}")
        self.prefix = "/".join(parts)

    def __call__(self, instance, filename: str) -> str:
        extension = self._sniff_pending_upload(instance, filename)
        if extension is None:
            extension = _extension(filename)
            extension = extension if extension in SLIDES_KINDS else "bin"
        today = timezone.localdate()
        return f"{self.prefix}/{today:%Y}/{today:%m}/{uuid.uuid4().hex}.{extension}"

    def _sniff_pending_upload(self, instance, filename: str) -> str | None:
        meta = getattr(instance, "_meta", None)
        if meta is None:
            return None
        for field in meta.concrete_fields:
            if getattr(field, "upload_to", None) is not self:
                continue
            field_file = getattr(instance, field.attname)
            # An uncommitted FieldFile holds the upload that is about to be saved.
            if field_file and not field_file._committed and field_file.name == filename:
                return sniff_document(field_file.file)
        return None

    def __eq__(self, other):
        return isinstance(other, SafeUploadTo) and self.prefix == other.prefix

    def __hash__(self):
        return hash(self.prefix)


def private_storage():
    """For `FileField(storage=private_storage)`: files outside MEDIA_ROOT, reachable only through
    a view that checks permissions and calls serve_file(). Never link to their `.url`: on disk
    (under MEDIA_URL, as FileSystemStorage falls back to it) it leads nowhere, in an object
    store it is a signed link that skips the permission check."""
    return storages["private"]


def _safe_download_name(download_name: str, kind: str) -> str:
    name = "".join(c for c in download_name if unicodedata.category(c)[0] != "C").strip()
    name = name or "slides"
    # Keep the user's name but make the saved file open as what it really is.
    if _extension(name) != kind:
        name = f"{name}.{kind}"
    return name


def _open_to_check(field_file):
    """The stored file, for reading what it really is. In an object store only the ranges
    read are fetched (topicshare.core.objectstorage), not the whole object."""
    storage = field_file.storage
    opener = getattr(storage, "open_ranged", None) or (lambda name: storage.open(name, "rb"))
    try:
        return opener(field_file.name)
    except FileNotFoundError as exc:
        raise Http404 from exc


def _presigned_redirect(field_file, handle, *, content_type: str, disposition: str):
    """In an object store that signs its links (S3_BUCKET set): a redirect to a link that
    works for a minute, answered by the store with the type we read from the content.

    A redirect rather than streaming through the application: a sync gunicorn worker would be
    held for the whole of a phone's slow download of a 50 MB deck, and every node would pull
    the object through itself. What streaming gave us still holds: the type comes from the
    content (checked above, on a few ranged reads); the object is answered from the store's
    own origin, never ours, so a hostile file cannot script our pages (what `sandbox` is for
    when we serve it); the link is made only here, after the caller's permission check, is
    never put in a page, and is not cached (`no-store`, on the redirect and on the object).
    None for storages that do not sign links (local disk): the caller streams the file."""
    presign = getattr(field_file.storage, "presigned_url", None)
    url = presign and presign(field_file.name, content_type=content_type, disposition=disposition)
    if not url:
        return None
    handle.close()
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "private, no-store"
    return response


def serve_file(request, field_file, *, download_name: str) -> FileResponse:
    """Serve a stored PDF (inline) or PPTX (download) with its type taken from the content:
    streamed from disk, or from an object store as a redirect to a short-lived signed link.

    Raises Http404 when the file is missing from storage or its content is not PDF/PPTX."""
    if not field_file:
        raise Http404
    handle = _open_to_check(field_file)
    kind = sniff_document(handle)
    if kind is None:
        handle.close()
        logger.warning("Refusing to serve %s: its content is not PDF or PPTX.", field_file.name)
        raise Http404
    filename = _safe_download_name(download_name, kind)
    redirect = _presigned_redirect(
        field_file,
        handle,
        content_type=SLIDES_KINDS[kind],
        disposition=content_disposition_header(kind == "pptx", filename),
    )
    if redirect:
        return redirect
    response = FileResponse(
        handle, as_attachment=kind == "pptx", filename=filename, content_type=SLIDES_KINDS[kind]
    )
    response["X-Content-Type-Options"] = "nosniff"
    if kind != "pdf":
        # Not for PDFs: browsers' built-in PDF viewers refuse to run in a sandboxed document.
        response["Content-Security-Policy"] = "sandbox"
    return response


IMAGE_TYPES = {"PNG": "image/png", "JPEG": "image/jpeg", "GIF": "image/gif", "WEBP": "image/webp"}


def serve_image(request, field_file) -> FileResponse:
    """Serve a stored image (a group's QR code) after the caller checked permissions, with
    its type read from the content. Raises Http404 when missing or not an image we show."""
    from PIL import Image, UnidentifiedImageError

    if not field_file:
        raise Http404
    handle = _open_to_check(field_file)
    try:
        kind = Image.open(handle).format
    except (UnidentifiedImageError, OSError):
        kind = None
    if kind not in IMAGE_TYPES:
        handle.close()
        raise Http404
    redirect = _presigned_redirect(
        field_file, handle, content_type=IMAGE_TYPES[kind], disposition="inline"
    )
    if redirect:
        return redirect
    handle.seek(0)
    response = FileResponse(handle, content_type=IMAGE_TYPES[kind])
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response

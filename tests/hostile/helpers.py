"""Shared payloads, hostile files and checks for the hostile-input tests."""

import io
import re
import struct
import zipfile
from html.parser import HTMLParser

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from members.roles import Role
from tests.factories import TrackFactory, UserFactory

# Every payload carries this marker, so that whatever reaches the page executable is found.
MARKER = "pwn3d"

# (id, payload): what people paste into text fields to run script in someone else's browser.
XSS_PAYLOADS = [
    ("script-tag", f"<script>alert('{MARKER}')</script>"),
    ("img-onerror", f"<img src=x onerror=alert('{MARKER}')>"),
    ("svg-onload", f"<svg/onload=alert('{MARKER}')>"),
    ("js-link-markdown", f"[click](javascript:alert('{MARKER}'))"),
    ("js-link-html", f"<a href=\"javascript:alert('{MARKER}')\">x</a>"),
    ("js-link-entity", f"[x](jav&#x09;ascript:alert('{MARKER}'))"),
    ("data-url", f"[x](data:text/html;base64,{MARKER}PHNjcmlwdD4=)"),
    ("attribute-breakout", f'" onmouseover="alert(\'{MARKER}\')" x="'),
    ("iframe-srcdoc", f"<iframe srcdoc=\"<script>alert('{MARKER}')</script>\"></iframe>"),
    ("markdown-image-js", f"![x](javascript:alert('{MARKER}'))"),
    ("title-breakout", f"</title><script>alert('{MARKER}')</script>"),
    ("mxss-math", f"<math><mtext><table><mglyph><style><img src=x onerror=alert('{MARKER}')>"),
]
XSS_IDS = [name for name, _payload in XSS_PAYLOADS]
XSS_VALUES = [payload for _name, payload in XSS_PAYLOADS]

_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster"}
_DANGEROUS_SCHEMES = ("javascript:", "vbscript:", "data:")
_EMBEDDING_TAGS = {"iframe", "frame", "object", "embed", "base", "svg", "math", "style", "form"}


class _ExecutableFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}={value!r}>")
            if name == "srcdoc":
                self.found.append(f"<{tag} srcdoc>")
            if name in _URL_ATTRIBUTES:
                scheme = re.sub(r"[\x00-\x20]", "", value).lower()
                if scheme.startswith(_DANGEROUS_SCHEMES):
                    self.found.append(f"<{tag} {name}={value!r}>")
        if tag == "script":
            self._in_script = True
            src = values.get("src") or ""
            same_origin = src.startswith("/") and not src.startswith("//")
            if not (same_origin or values.get("type") == "application/json"):
                self.found.append(f"<script src={src!r}>")
        if tag in _EMBEDDING_TAGS and any(MARKER in (value or "") for _n, value in attrs):
            self.found.append(f"<{tag}> with the payload")
        if tag == "meta" and (values.get("http-equiv") or "").lower() == "refresh":
            self.found.append("<meta http-equiv=refresh>")

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script and MARKER in data:
            self.found.append(f"script body with the payload: {data[:80]!r}")


def executable_parts(html: str) -> list[str]:
    """Anything in `html` a browser would run: inline or foreign scripts, event handlers,
    javascript:/data: links, srcdoc, embedding tags carrying the payload."""
    finder = _ExecutableFinder()
    finder.feed(html)
    finder.close()
    return finder.found


def assert_no_executable(html: str) -> None:
    found = executable_parts(html)
    assert not found, found


def assert_clean_page(response) -> str:
    """A page that rendered (2xx/3xx, never 5xx) and runs nothing of the user's."""
    assert response.status_code < 400, response.status_code
    content = response.content.decode()
    assert_no_executable(content)
    return content


def never_5xx(response) -> None:
    assert response.status_code < 500, response.status_code


def csrf_client(user) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


# --- Hostile files ---------------------------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48 + b"This program"
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 57
HTML = f"<!doctype html><html><body><script>alert('{MARKER}')</script></body></html>".encode()
SVG = (
    f'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(\'{MARKER}\')"><script>'
    f"alert('{MARKER}')</script></svg>"
).encode()


def zip_bytes(members: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def pptx_bytes(**extra: bytes) -> bytes:
    return zip_bytes(
        {
            "[Content_Types].xml": b'<?xml version="1.0"?><Types/>',
            "ppt/presentation.xml": b'<?xml version="1.0"?><p:presentation/>',
            **extra,
        }
    )


def docx_bytes() -> bytes:
    return zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w:document/>"})


def many_members_zip(count: int = 10_050) -> bytes:
    """A "zip bomb" of entries: more members than any presentation has."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("[Content_Types].xml", b"")
        archive.writestr("ppt/presentation.xml", b"")
        for number in range(count):
            archive.writestr(f"m{number}", b"")
    return buffer.getvalue()


def lying_zip() -> bytes:
    """A PPTX whose end record claims 4 billion members and a huge central directory."""
    data = bytearray(pptx_bytes())
    end = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HHII", data, end + 8, 0xFFFF, 0xFFFF, 0x7FFFFFFF, 0)
    return bytes(data)


def macro_pptx() -> bytes:
    return pptx_bytes(**{"ppt/vbaProject.bin": b"\xd0\xcf\x11\xe0 macro"})


def png_bytes(size: tuple[int, int] = (8, 8)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, "white").save(buffer, "PNG")
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type)


# (id, name, content): slides uploads that must be refused whatever their name says.
DISGUISED_SLIDES = [
    ("exe-as-pdf", "slides.pdf", EXE),
    ("elf-as-pptx", "slides.pptx", ELF),
    ("html-as-pdf", "slides.pdf", HTML),
    ("svg-as-pdf", "slides.pdf", SVG),
    ("docx-as-pptx", "slides.pptx", docx_bytes()),
    ("macro-pptm-as-pptx", "slides.pptx", macro_pptx()),
    ("zip-of-10k-members", "slides.pptx", many_members_zip()),
    ("zip-lying-end-record", "slides.pptx", lying_zip()),
    ("pdf-named-pptx", "slides.pptx", PDF),
    ("pptx-named-pdf", "slides.pdf", pptx_bytes()),
    ("pdf-named-html", "slides.html", PDF),
    ("pdf-header-after-1k", "slides.pdf", b" " * 2048 + PDF),
]
DISGUISED_IDS = [name for name, _n, _c in DISGUISED_SLIDES]


def stored_files(storage, path: str = "") -> list[str]:
    """Every file in a storage (InMemoryStorage in the tests), recursively."""
    try:
        directories, files = storage.listdir(path)
    except FileNotFoundError:
        return []
    found = [f"{path}/{name}".lstrip("/") for name in files]
    for directory in directories:
        found += stored_files(storage, f"{path}/{directory}".lstrip("/"))
    return found


# --- Odd text --------------------------------------------------------------------------------

HUGE = "长" * 100_000
ODD_UNICODE = [
    ("rtl-override", "abc\u202egnp.exe"),
    ("zero-width-joiner", "a\u200db\u200c\u200bc\ufeff"),
    ("nul-byte", "a\x00b"),
    ("emoji", "👩\u200d👩\u200d👧\u200d👦🏳️\u200d🌈"),
    ("combining-marks", "Z" + "\u0351\u0300\u0301\u0302" * 50),
    ("replacement-char", "\ufffd\ufffe\uffff"),
    ("control-chars", "a\x01\x07\x1b[31mred"),
    ("huge", HUGE),
]
ODD_IDS = [name for name, _value in ODD_UNICODE]
ODD_VALUES = [value for _name, value in ODD_UNICODE]


def make_user(role: Role = Role.AUDIENCE, **fields):
    return UserFactory(role=role, **fields)


def make_track(slug: str = "nlp"):
    return TrackFactory(slug=slug)

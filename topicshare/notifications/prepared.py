"""E-mails of one content to many people, put together once.

A reminder goes to thousands of people with the same subject, text, HTML and calendar file;
only the address, the unsubscribe link and the Message-ID differ. Building each one's MIME
tree with the standard library (headers encoded, parts set and serialised) was most of the
cost of handing a 10,000-recipient reminder over. So the outbox renders one template per
content with placeholders, checks that each placeholder survived serialising exactly where
it should (the parts that carry it are 7bit/8bit, never quoted-printable or base64), and
gives every person's e-mail the template's bytes with their own values put in.

Each e-mail is still a full EmailMultiAlternatives (to, subject, body, alternatives,
attachments), so any mail backend sends it; only its message() answers from the prepared
bytes — parsed into a real email.message.Message the moment anyone looks inside. A content
whose template fails the check is sent the ordinary way."""

import copy
import email
import email.message
from collections.abc import Callable

from django.core.mail import EmailMultiAlternatives
from django.core.mail.message import make_msgid
from django.core.mail.utils import DNS_NAME

TO = "recipient.placeholder.7c1f@topicshare.invalid"
UNSUBSCRIBE = "https://unsubscribe.placeholder.7c1f.invalid/u/"
_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~:/?#@!$+,;%")


class PreparedMessage:
    """What message() gives for a prepared e-mail: its bytes for a backend to send, and the
    parsed message for everything else."""

    def __init__(self, data: bytes):
        self._data = data  # lines end in \n
        self._message: email.message.Message | None = None

    def as_bytes(self, unixfrom: bool = False, linesep: str = "\n") -> bytes:
        if linesep == "\n":
            return self._data
        return self._data.replace(b"\n", linesep.encode())

    def as_string(self, unixfrom: bool = False, linesep: str = "\n") -> str:
        return self.as_bytes(linesep=linesep).decode("utf-8", "surrogateescape")

    def parsed(self) -> email.message.Message:
        if self._message is None:
            self._message = email.message_from_bytes(self._data)
        return self._message

    def __getattr__(self, name):
        return getattr(self.parsed(), name)

    def __getitem__(self, name):
        return self.parsed()[name]

    def __contains__(self, name) -> bool:
        return name in self.parsed()


class PreparedEmail(EmailMultiAlternatives):
    """An e-mail whose message() is its template's bytes with its own values."""

    template: "Template"

    def message(self, *, policy=None):
        return self.template.message_for(self.to[0], self.unsubscribe)

    def __deepcopy__(self, memo):
        """A copy whose lists are its own (the locmem backend keeps a deep copy of each
        e-mail sent): their items — addresses, attachment and alternative tuples of strings —
        and the template are immutable, and copying them item by item was a fifth of the
        cost of handing a reminder over to that backend."""
        clone = copy.copy(self)
        for name in ("to", "cc", "bcc", "reply_to", "attachments", "alternatives"):
            setattr(clone, name, list(getattr(self, name)))
        clone.extra_headers = dict(self.extra_headers)
        return clone


class Template:
    def __init__(self, data: bytes, message_id: bytes):
        self.data = data
        self.message_id = message_id

    def message_for(self, to: str, unsubscribe: str) -> PreparedMessage:
        data = self.data.replace(TO.encode(), to.encode())
        data = data.replace(UNSUBSCRIBE.encode(), unsubscribe.encode())
        data = data.replace(self.message_id, make_msgid(domain=DNS_NAME).encode(), 1)
        return PreparedMessage(data)


def _plain(value: str) -> bool:
    return value.isascii() and all(character in _SAFE for character in value)


class Templates:
    """The templates of one batch, by content. `build(to, unsubscribe, email_class)` makes
    the e-mail of a content; the template is made from one with the placeholders."""

    def __init__(self):
        self._templates: dict[tuple, Template | None] = {}

    def email(self, key: tuple, build: Callable[..., EmailMultiAlternatives], *, to: str,
              unsubscribe: str, expected: int) -> EmailMultiAlternatives:  # fmt: skip
        """The e-mail for `to` (`expected`: how often the unsubscribe link appears in the
        serialised e-mail, headers included)."""
        if not (_plain(to) and "@" in to and _plain(unsubscribe)):
            return build(to, unsubscribe, EmailMultiAlternatives)  # the template cannot carry
        if key not in self._templates:
            self._templates[key] = _template(
                build(TO, UNSUBSCRIBE, EmailMultiAlternatives), expected
            )
        template = self._templates[key]
        if template is None:
            return build(to, unsubscribe, EmailMultiAlternatives)
        mail = build(to, unsubscribe, PreparedEmail)
        mail.template, mail.unsubscribe = template, unsubscribe
        return mail


def _template(mail: EmailMultiAlternatives, expected: int) -> Template | None:
    message = mail.message()
    for part in message.walk():
        if part.is_multipart():
            continue
        encoding = (part.get("Content-Transfer-Encoding") or "7bit").lower()
        if encoding not in ("7bit", "8bit") and UNSUBSCRIBE in part.get_payload(decode=True).decode(
            "utf-8", "replace"
        ):
            return None  # the link would be encoded: put in by hand it would not decode
    data = message.as_bytes(linesep="\n")
    message_id = message["Message-ID"].encode()
    if (
        data.count(UNSUBSCRIBE.encode()) != expected
        or data.count(TO.encode()) != 1
        or data.count(message_id) != 1
    ):
        return None
    return Template(data, message_id)

"""The promotion pack of a session, or of a topic that is recruiting (宣传): what organisers
post each week two weeks ahead — a poster for WeChat (with a QR code that opens the page), a
short text for the ordinary WeChat groups, and an article in the subset the official
account's (公众号) editor keeps (inline styles, no scripts, no outside resources).

Everything here is built from one Promotion, so the three say the same thing. The poster is
drawn with Pillow in a real CJK font (Debian's Noto Sans CJK; PosterFontMissing says how to
install it) and its QR code with segno."""

import datetime
import io
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import nh3
import segno
from django.conf import settings
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation
from django.utils.dateformat import format as date_format
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from PIL import Image, ImageDraw, ImageFont

from sessions.models import Topic, WeeklySession
from sessions.topics.rules import PROMOTED as PROMOTED_TOPICS
from sessions.topics.slots import slot_of_week
from sessions.weekly.rules import PROMOTED as PROMOTED_SESSIONS
from topicshare.core.links import absolute_url
from topicshare.forum import wechat_mp
from topicshare.forum.models import OfficialAccountDraft

POSTER_SIZE = (1080, 1620)  # portrait 2:3, WeChat's full-width image
ACCENT = "#1d4ed8"  # the site's accent (static/css/site.css --accent)
INK, MUTED, PAPER = "#0f172a", "#475569", "#ffffff"
# Debian's fonts-noto-cjk; the face index of Simplified Chinese in each collection.
FONT_CANDIDATES = {
    "regular": [("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2)],
    "bold": [("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2)],
}
TITLE_LINES = 4  # a longer title is set smaller, then cut with an ellipsis


class PosterFontMissing(RuntimeError):
    """No CJK font on this machine: the poster cannot set Chinese."""


@dataclass
class Promotion:
    """What a pack says, whatever it promotes."""

    kind: str  # "session" or "topic"
    pk: int
    title: str
    presenters: list[str]
    track: str
    track_colour: str
    start: datetime.datetime | None
    end: datetime.datetime | None
    page_url: str  # absolute: the QR code and the texts link to it
    summary_html: str = ""
    papers: list[str] = field(default_factory=list)
    members_only: bool = False

    @property
    def when(self) -> str:
        """ "12月19日 星期六 20:30–22:00（北京时间）" in the forum's time zone and language."""
        if self.start is None:
            return _("Date to be announced")
        zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
        start, end = self.start.astimezone(zone), (self.end or self.start).astimezone(zone)
        day = date_format(start, _("n/j l"))
        return _("%(day)s %(start)s–%(end)s (Beijing time)") % {
            "day": day,
            "start": date_format(start, "H:i"),
            "end": date_format(end, "H:i"),
        }


def promotion_of_session(session: WeeklySession) -> Promotion:
    return _promotion(
        session.topic, session.track, "session", session.pk, session.start, session.end,
        reverse("sessions:detail", args=[session.pk]),
    )  # fmt: skip


def promotion_of_topic(topic: Topic) -> Promotion:
    """A recruiting topic's pack: its time is its track's slot in its preferred week."""
    start = (
        slot_of_week(track=topic.track, week=topic.preferred_week) if topic.preferred_week else None
    )
    end = start + datetime.timedelta(minutes=topic.track.duration_minutes) if start else None
    path = reverse("topics:detail", args=[topic.pk])
    return _promotion(topic, topic.track, "topic", topic.pk, start, end, path)


def _promotion(topic: Topic, track, kind: str, pk: int, start, end, path: str) -> Promotion:
    return Promotion(
        kind=kind,
        pk=pk,
        title=topic.title,
        presenters=[topic.proposer.name, *(person.name for person in topic.co_presenters.all())],
        track=track.name,
        track_colour=track.colour,
        start=start,
        end=end,
        page_url=absolute_url(path),
        summary_html=topic.summary_html,
        papers=list(topic.paper_links or []),
        members_only=topic.members_only,
    )


def _names(names: list[str]) -> str:
    """ "王小明、Alice Chen" in Chinese, "王小明, Alice Chen" otherwise."""
    return ("、" if translation.get_language().startswith("zh") else ", ").join(names)


# --- The poster ---------------------------------------------------------------------------


def _font(weight: str, size: int) -> ImageFont.FreeTypeFont:
    configured = settings.TOPICSHARE_POSTER_FONTS.get(weight)
    candidates = [(configured, 0)] if configured else FONT_CANDIDATES[weight]
    for path, index in candidates:
        if Path(path).exists():
            return ImageFont.truetype(path, size, index=index)
    raise PosterFontMissing(
        _(
            "No CJK font for the poster: install Debian's fonts-noto-cjk"
            " (apt-get install fonts-noto-cjk) or set TOPICSHARE_POSTER_FONT."
        )
    )


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> list[str]:
    """Lines no wider than `width`: Chinese may break between any two characters, a Latin
    word only where it has a space (a word longer than a line is broken where it must)."""
    lines, line = [], ""
    for token in _tokens(text):
        candidate = line + token
        if draw.textlength(candidate, font=font) <= width or not line.strip():
            if draw.textlength(candidate, font=font) > width:  # one token wider than a line
                for character in token:
                    if line and draw.textlength(line + character, font=font) > width:
                        lines.append(line)
                        line = ""
                    line += character
                continue
            line = candidate
        else:
            lines.append(line.rstrip())
            line = token.lstrip()
    if line.strip():
        lines.append(line.rstrip())
    return lines


def _tokens(text: str) -> list[str]:
    """Latin words (with the space before them) stay whole; every other character is one."""
    tokens, word = [], ""
    for character in " ".join(text.split()):
        if character.isascii() and not character.isspace():
            word += character
            continue
        if word:
            tokens.append(word)
            word = ""
        if character.isspace():
            word = " "
        else:
            tokens.append(character)
    if word:
        tokens.append(word)
    # A space starts the word after it: " word".
    merged = []
    for token in tokens:
        if merged and merged[-1] == " ":
            merged[-1] = " " + token
        else:
            merged.append(token)
    return merged


def _fit_title(draw, title: str, width: int) -> tuple[ImageFont.FreeTypeFont, list[str]]:
    for size in (92, 80, 68, 58):
        font = _font("bold", size)
        lines = _wrap(draw, title, font, width)
        if len(lines) <= TITLE_LINES:
            return font, lines
    lines = lines[:TITLE_LINES]
    last = lines[-1]
    while last and draw.textlength(last + "…", font=font) > width:
        last = last[:-1]
    lines[-1] = last + "…"
    return font, lines


def poster_png(promotion: Promotion, *, forum_name: str, slogan: str) -> bytes:
    """The poster: portrait, 1080 px wide, the forum's name and colours, the title (wrapped,
    never past the margins), presenters, track, date and time in Asia/Shanghai, and a QR code
    that opens the page."""
    width, height = POSTER_SIZE
    margin = 80
    image = Image.new("RGB", POSTER_SIZE, PAPER)
    draw = ImageDraw.Draw(image)
    # The band: the forum's name and slogan.
    draw.rectangle([0, 0, width, 300], fill=ACCENT)
    draw.text((margin, 84), forum_name, font=_font("bold", 64), fill=PAPER)
    if slogan:
        slogan_font = _font("regular", 36)
        draw.text((margin, 184), _wrap(draw, slogan, slogan_font, width - 2 * margin)[0],
                  font=slogan_font, fill="#dbeafe")  # fmt: skip
    y = 372
    # The track, with its colour.
    track_font = _font("regular", 40)
    draw.rounded_rectangle([margin, y + 6, margin + 36, y + 42], radius=8,
                           fill=promotion.track_colour or ACCENT)  # fmt: skip
    draw.text((margin + 56, y), promotion.track, font=track_font, fill=MUTED)
    y += 96
    # The title.
    title_font, lines = _fit_title(draw, promotion.title, width - 2 * margin)
    line_height = int(title_font.size * 1.28)
    for line in lines:
        draw.text((margin, y), line, font=title_font, fill=INK)
        y += line_height
    y += 40
    # Presenters and time.
    body = _font("regular", 44)
    for label, value in (
        (_("Presenter"), _names(promotion.presenters)),
        (_("Time"), promotion.when),
    ):
        label_font = _font("bold", 40)
        draw.text((margin, y), label, font=label_font, fill=ACCENT)
        y += 58
        for line in _wrap(draw, value, body, width - 2 * margin)[:3]:
            draw.text((margin, y), line, font=body, fill=INK)
            y += 62
        y += 24
    # The QR code that opens the page, bottom right, with what it does.
    qr_size = 360
    qr = segno.make(promotion.page_url, error="m")
    buffer = io.BytesIO()
    qr.save(buffer, kind="png", scale=10, border=2, dark=INK, light=PAPER)
    code = Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")
    code = code.resize((qr_size, qr_size), Image.NEAREST)
    top = height - margin - qr_size
    image.paste(code, (width - margin - qr_size, top))
    caption = _font("regular", 38)
    caption_width = width - 3 * margin - qr_size
    caption_y = top + 60
    for line in _wrap(draw, _("Scan to open the page: details, RSVP and the group."), caption,
                      caption_width):  # fmt: skip
        draw.text((margin, caption_y), line, font=caption, fill=MUTED)
        caption_y += 54
    if promotion.members_only:
        draw.text((margin, caption_y + 20), _("Members only"), font=_font("bold", 38), fill=ACCENT)
    output = io.BytesIO()
    image.save(output, format="PNG", optimize=True)
    return output.getvalue()


# --- The texts ----------------------------------------------------------------------------


def group_text(promotion: Promotion, *, forum_name: str) -> str:
    """The announcement for an ordinary WeChat group (audience or study group): plain text,
    short, with the time, the link and how to get the meeting details."""
    lines = [
        _("[%(forum)s] %(title)s") % {"forum": forum_name, "title": promotion.title},
        _("Presenter: %(names)s") % {"names": _names(promotion.presenters)},
        _("Time: %(when)s") % {"when": promotion.when},
        _("Track: %(track)s") % {"track": promotion.track},
    ]
    if promotion.kind == "topic":
        lines.append(_("Looking for participants: join the group on the topic's page."))
    lines.append(
        _("Details and RSVP: %(url)s (the meeting link shows there once you are signed in).")
        % {"url": promotion.page_url}
    )
    if promotion.members_only:
        lines.append(_("For members of the study group."))
    return "\n".join(lines)


def article_html(promotion: Promotion, *, forum_name: str) -> str:
    """The article for the official account's editor: inline styles only, no script, no
    class, no outside stylesheet or image — what the editor keeps when it is pasted in."""
    p = "margin:0 0 12px;line-height:1.75;font-size:16px;color:#0f172a;"
    h = "margin:24px 0 8px;font-size:18px;font-weight:bold;color:#1d4ed8;"
    papers = format_html_join(
        "", '<li style="margin:0 0 6px;">{}</li>', ((link,) for link in promotion.papers)
    )
    parts = [
        format_html('<section style="{}">', "padding:0 4px;"),
        format_html(
            '<h1 style="{}">{}</h1>',
            "margin:0 0 12px;font-size:22px;line-height:1.4;color:#0f172a;",
            promotion.title,
        ),  # fmt: skip
        format_html(
            '<p style="{}">{} · {} · {}</p>',
            "margin:0 0 16px;color:#475569;font-size:14px;",
            forum_name,
            promotion.track,
            promotion.when,
        ),  # fmt: skip
        format_html('<h2 style="{}">{}</h2>', h, _("Presenter")),
        format_html('<p style="{}">{}</p>', p, _names(promotion.presenters)),
    ]
    if promotion.summary_html:
        parts += [
            format_html('<h2 style="{}">{}</h2>', h, _("Summary")),
            format_html('<div style="{}">{}</div>', p, _inline_summary(promotion.summary_html)),
        ]
    if promotion.papers:
        parts += [
            format_html('<h2 style="{}">{}</h2>', h, _("Papers")),
            format_html('<ul style="{}">{}</ul>', "margin:0 0 12px;padding-left:20px;", papers),
        ]
    parts += [
        format_html('<h2 style="{}">{}</h2>', h, _("How to attend")),
        format_html(
            '<p style="{}">{}</p>',
            p,
            _("Open the page below, RSVP, and the meeting link shows there: %(url)s")
            % {"url": promotion.page_url},
        ),  # fmt: skip
        format_html('<h2 style="{}">{}</h2>', h, _("How to join the group")),
        format_html(
            '<p style="{}">{}</p>',
            p,
            _(
                "Reply to this account or scan the QR code on the poster; new members are admitted"
                " by the review committee after a short paper talk."
            ),
        ),  # fmt: skip
        mark_safe("</section>"),  # noqa: S308 — a constant
    ]
    return "".join(str(part) for part in parts)


def _inline_summary(summary_html: str) -> str:
    """The summary (already sanitised when it was saved) as the editor keeps it: its tags
    without classes, headings and paragraphs with inline styles. Only the few tags our
    markdown makes are kept; anything else becomes text."""
    styles = {
        "h1": "font-size:17px;font-weight:bold;margin:16px 0 6px;",
        "h2": "font-size:17px;font-weight:bold;margin:16px 0 6px;",
        "h3": "font-size:16px;font-weight:bold;margin:12px 0 6px;",
        "p": "margin:0 0 10px;",
        "ul": "margin:0 0 10px;padding-left:20px;",
        "ol": "margin:0 0 10px;padding-left:20px;",
        "li": "margin:0 0 4px;",
        "code": "font-family:monospace;background:#f1f5f9;padding:0 3px;",
        "blockquote": "margin:0 0 10px;padding-left:10px;border-left:3px solid #cbd5e1;",
    }
    cleaned = nh3.clean(
        summary_html,
        tags={*styles, "strong", "em", "a", "br"},
        attributes={"a": {"href"}},
        link_rel=None,
    )
    for tag, style in styles.items():
        cleaned = cleaned.replace(f"<{tag}>", f'<{tag} style="{escape(style)}">')
    return mark_safe(cleaned)  # noqa: S308 — sanitised by nh3 just above


def article_preview(article: str) -> str:
    """The article as our own pages may show it: without its inline styles (the site's
    Content-Security-Policy allows none), its title a second-level heading (the page has its
    own)."""
    plain = nh3.clean(article, attributes={"a": {"href"}}, link_rel=None)
    return mark_safe(plain.replace("<h1>", "<h2>").replace("</h1>", "</h2>"))  # noqa: S308


def texts_for(build: Callable[[], Promotion], *, forum_name: str) -> dict[str, dict]:
    """The pack's texts in the forum's default language (its groups read Chinese) and in the
    viewer's, when that differs; `build()` makes the Promotion in each (a track's name has
    both)."""
    texts = {}
    for language in dict.fromkeys([settings.LANGUAGE_CODE, translation.get_language()]):
        with translation.override(language):
            promotion = build()
            article = article_html(promotion, forum_name=forum_name)
            texts[language] = {
                "group": group_text(promotion, forum_name=forum_name),
                "article": article,
                "preview": article_preview(article),
            }
    return texts


def poster_path(subject) -> str | None:
    """The poster's path of a session or topic that has a pack, else None."""
    if isinstance(subject, WeeklySession):
        promoted = subject.status in PROMOTED_SESSIONS
        return reverse("session-poster", args=[subject.pk]) if promoted else None
    if isinstance(subject, Topic) and subject.status in PROMOTED_TOPICS:
        return reverse("topic-poster", args=[subject.pk])
    return None


# --- The official account's draft box -------------------------------------------------------


class DraftBusy(RuntimeError):
    """Someone is saving this article already (a double tap)."""


def _digest(promotion: Promotion) -> str:
    return _("%(when)s · %(presenters)s · %(track)s") % {
        "when": promotion.when, "presenters": _names(promotion.presenters),
        "track": promotion.track,
    }  # fmt: skip


def promotion_draft_save(promotion: Promotion, *, forum_name: str, slogan: str, language: str, by):
    """Saves the pack's article, with the poster as its cover, to the official account's
    draft box (the same draft again when it was saved before) in the active language.
    Raises wechat_mp.WechatApiError with the API's errcode. Never sends anything."""
    lock = f"wechat-mp:saving:{promotion.kind}:{promotion.pk}:{language}"
    if not cache.add(lock, 1, 120):
        raise DraftBusy
    try:
        existing = OfficialAccountDraft.objects.filter(
            kind=promotion.kind, object_id=promotion.pk, language=language
        ).first()
        media_id = wechat_mp.draft_save(
            wechat_mp.DraftArticle(
                title=promotion.title,
                author=forum_name,
                digest=_digest(promotion),
                content=article_html(promotion, forum_name=forum_name),
                source_url=promotion.page_url,
                poster_png=poster_png(promotion, forum_name=forum_name, slogan=slogan),
            ),
            media_id=existing.media_id if existing else "",
        )
        draft, _created = OfficialAccountDraft.objects.update_or_create(
            kind=promotion.kind, object_id=promotion.pk, language=language,
            defaults={"media_id": media_id, "saved_by": by},
        )  # fmt: skip
        return draft
    finally:
        cache.delete(lock)

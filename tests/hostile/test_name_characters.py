"""Names and titles refuse characters that are invisible, reorder the text around them
(bidi overrides, embeddings, isolates, marks) or are control codes (C0, C1), whatever path
sets them: the profile form, the admin, placeholders from imports, the topic form. Chinese,
other scripts and emoji (with their zero-width joiners) keep working."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from members.models import User
from members.placeholders import placeholder_for
from sessions.models import Topic
from sessions.topics.csv_io import topics_import_csv
from tests.factories import TrackFactory

pytestmark = pytest.mark.django_db

REFUSED = [
    ("right-to-left-override", "abc\u202egnp.exe"),
    ("left-to-right-override", "\u202dAdmin"),
    ("right-to-left-embedding", "a\u202bb"),
    ("pop-directional", "a\u202cb"),
    ("left-to-right-isolate", "a\u2066b"),
    ("first-strong-isolate", "a\u2068b\u2069"),
    ("pop-isolate", "a\u2069"),
    ("right-to-left-mark", "Bob\u200f"),
    ("left-to-right-mark", "\u200eBob"),
    ("arabic-letter-mark", "a\u061cb"),
    ("zero-width-space", "Bo\u200bb"),
    ("zero-width-joiner-alone", "\u200dBob"),
    ("zero-width-non-joiner-at-end", "Bob\u200c"),
    ("word-joiner", "Bo\u2060b"),
    ("byte-order-mark", "\ufeffBob"),
    ("soft-hyphen", "Bo\u00adb"),
    ("c0-escape", "a\x1b[31mred"),
    ("c0-bell", "a\x07b"),
    ("delete", "a\x7fb"),
    ("c1-csi", "a\x9b31mred"),
    ("c1-string-terminator", "a\x9cb"),
    ("hangul-filler-only", "\u3164"),
    ("braille-blank-only", "\u2800\u2800"),
    ("zalgo", "Z" + "\u0351\u0300\u0301\u0302" * 5),
]
REFUSED_IDS = [name for name, _value in REFUSED]
REFUSED_VALUES = [value for _name, value in REFUSED]

ACCEPTED = [
    "王小明",
    "李四 Li",
    "張三（台北）",
    "山田 太郎",
    "김민수",
    "Nguyễn Văn An",
    "José Ñúñez",
    "محمد",
    "מיכל",
    "می\u200cخواهم",  # Persian needs the zero-width non-joiner between letters
    "मनीषा",
    "👩\u200d👩\u200d👧",  # a family: emoji joined by zero-width joiners
    "🏳\ufe0f\u200d🌈",
    "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # Scotland's flag
    "1\ufe0f\u20e3 小组",
    "👍🏽 Ana",
]


@pytest.mark.parametrize("name", REFUSED_VALUES, ids=REFUSED_IDS)
def test_profile_form_refuses_invisible_and_control_characters(client, audience, name):
    client.force_login(audience)
    before = audience.display_name

    response = client.post(reverse("profile"), {"display_name": name, "wechat_id": ""})

    assert response.status_code == 200
    assert "display_name" in response.context["form"].errors
    audience.refresh_from_db()
    assert audience.display_name == before


@pytest.mark.parametrize("name", ["a\u2028b", "a\u2029b", "a\x85b", "a\tb", "a\u3000b"])
def test_line_breaks_and_other_spaces_in_a_name_become_one_space(client, audience, name):
    client.force_login(audience)

    client.post(reverse("profile"), {"display_name": name, "wechat_id": ""})

    audience.refresh_from_db()
    assert audience.display_name == "a b"


@pytest.mark.parametrize("name", ["a\u2028b", "a\u2029b", "a\x85b", "a\tb", "a\nb"])
def test_the_model_refuses_line_breaks_the_form_would_have_collapsed(name):
    with pytest.raises(ValidationError) as error:
        User(email="x@example.org", display_name=name).full_clean()

    assert "display_name" in error.value.message_dict


@pytest.mark.parametrize("name", ACCEPTED)
def test_profile_form_keeps_every_script_and_emoji(client, audience, name):
    client.force_login(audience)

    response = client.post(reverse("profile"), {"display_name": name, "wechat_id": ""})

    assert response.status_code == 302
    audience.refresh_from_db()
    assert audience.display_name == name


def test_the_form_error_names_the_character(client, audience):
    client.force_login(audience)

    response = client.post(
        reverse("profile"), {"display_name": "abc\u202egnp.exe", "wechat_id": ""}
    )

    assert response.context["form"].errors["display_name"] == [
        "请删除不可见字符或控制字符 U+202E。"
    ]


@pytest.mark.parametrize("name", REFUSED_VALUES, ids=REFUSED_IDS)
def test_the_model_refuses_them(name):
    user = User(email="someone@example.org", display_name=name)

    with pytest.raises(ValidationError) as error:
        user.full_clean()

    assert "display_name" in error.value.message_dict


@pytest.mark.parametrize("name", REFUSED_VALUES[:6], ids=REFUSED_IDS[:6])
def test_admin_refuses_them(client, organiser, audience, name):
    client.force_login(organiser)

    response = client.post(
        reverse("admin:members_user_change", args=[audience.pk]),
        {
            "email": audience.email,
            "display_name": name,
            "wechat_id": "",
            "preferred_language": "",
            "role": "audience",
            "is_active": "on",
        },
    )

    assert response.status_code == 200
    assert "display_name" in response.context["adminform"].form.errors
    audience.refresh_from_db()
    assert audience.display_name != name


@pytest.mark.parametrize("name", REFUSED_VALUES, ids=REFUSED_IDS)
def test_an_imported_name_does_not_become_a_placeholder(name):
    with pytest.raises(ValueError, match="invisible or control character|visible character|marks"):
        placeholder_for(name=name)

    assert not User.objects.filter(is_placeholder=True).exists()


def test_a_topic_sheet_import_reports_such_a_name(organiser):
    TrackFactory(slug="nlp")
    data = "title,track,proposer\nBERT,nlp,Bob\u202e\n"

    report = topics_import_csv(data=data, by=organiser, dry_run=False)

    assert [line for line, _message in report.errors] == [2]
    assert "U+202E" in report.errors[0][1]
    assert not Topic.objects.exists()


@pytest.mark.parametrize("title", ["BERT\u202e", "a\u200bb", "\u2066BERT\u2069", "x\x9by"])
def test_topic_titles_refuse_them_too(client, audience, title):
    track = TrackFactory(slug="nlp")
    client.force_login(audience)

    response = client.post(
        reverse("topics:new"),
        {
            "title": title,
            "track": track.pk,
            "paper_links": "https://arxiv.org/abs/1810.04805",
            "capacity": 6,
        },
    )

    assert response.status_code == 200
    assert "title" in response.context["form"].errors
    assert not Topic.objects.exists()

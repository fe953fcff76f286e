from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES"


def _pairs(entries) -> set[tuple[str, str]]:
    return {
        (entry.msgid, entry.msgstr or entry.msgstr_plural.get(0, ""))
        for entry in entries
        if entry.msgid and not entry.obsolete
    }


def test_every_chinese_translation_is_filled_in():
    po = polib.pofile(str(LOCALE / "django.po"))

    untranslated = [entry.msgid for entry in po.untranslated_entries()]
    fuzzy = [entry.msgid for entry in po.fuzzy_entries()]

    assert untranslated == []
    assert fuzzy == []


def test_compiled_catalogue_matches_the_po_file():
    po = polib.pofile(str(LOCALE / "django.po"))
    mo = polib.mofile(str(LOCALE / "django.mo"))

    assert _pairs(mo) == _pairs(po)

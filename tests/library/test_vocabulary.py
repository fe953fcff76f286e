"""The field's vocabulary (library/vocabulary.py) and the search it widens
(library/search.py): the shipped file, expansion both ways, whole-word abbreviations, the
literal switch, the page and the API saying what else was searched, admin edits, bounds."""

import io
import json
from collections import Counter

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, pgettext

from library.models import Concept, LibraryItem, Term
from library.search import (
    MAX_ALTERNATIVES,
    MAX_EXPANDED_TOKENS,
    MAX_QUERY_TOKENS,
    search,
    search_plan,
)
from library.services import items_reindex
from library.vocabulary import read_file, term_key
from members.roles import Role
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _item(title, **fields):
    item = LibraryItem.objects.create(title=title, **fields)
    items_reindex([item])
    return item


@pytest.fixture
def archive():
    titles = [
        "Named Entity Recognition as Dependency Parsing",
        "命名实体识别 综述",
        "模型蒸馏",
        "YOLO: You Only Look Once",
        "Attention is all you need",
        "Embedding-based Retrieval in Facebook Search",
        "远程监督关系抽取",
        "Deep Interest Network for Click-Through Rate Prediction",
        "推荐系统中的冷启动",
    ]
    return {title: _item(title) for title in titles}


def _titles(queryset) -> set[str]:
    return {item.title for item in queryset}


# --- The shipped file -------------------------------------------------------------------------


def test_the_shipped_vocabulary_is_valid_and_installed():
    concepts = read_file()  # raises on an empty, mixed or over-long name

    assert len(concepts) >= 300
    assert {entry["area"] for entry in concepts} >= {"nlp", "cv", "recsys", "ml"}
    owners: dict[str, set[str]] = {}
    for entry in concepts:
        keys = [term_key(term["text"]) for term in entry["terms"]]
        assert all(keys), entry["key"]
        assert not [k for k, n in Counter(keys).items() if n > 1], entry["key"]
        for term in entry["terms"]:
            if term["kind"] != "member":
                owners.setdefault(term_key(term["text"]), set()).add(entry["key"])
    # A term or abbreviation means one concept (members may sit under several).
    assert {name: keys for name, keys in owners.items() if len(keys) > 1} == {}
    # The data migration installed it whole.
    assert Concept.objects.count() == len(concepts)
    assert Term.objects.count() == sum(len(entry["terms"]) for entry in concepts)
    ner = Concept.objects.get(key="ner")
    assert {(t.text, t.kind) for t in ner.terms.all()} >= {
        ("命名实体识别", "term"), ("named entity recognition", "term"), ("NER", "abbreviation")
    }  # fmt: skip


# --- Expansion ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("命名实体识别", "Named Entity Recognition as Dependency Parsing"),
        ("NER", "命名实体识别 综述"),
        ("ner", "命名实体识别 综述"),
        ("named entity recognition", "命名实体识别 综述"),
        ("distillation", "模型蒸馏"),
        ("知识蒸馏", "模型蒸馏"),
        ("KD", "模型蒸馏"),
        ("目标检测", "YOLO: You Only Look Once"),  # a member
        ("object detection", "YOLO: You Only Look Once"),
        ("注意力机制", "Attention is all you need"),
        ("relation extraction", "远程监督关系抽取"),
        ("点击率预估", "Deep Interest Network for Click-Through Rate Prediction"),
        ("cold start", "推荐系统中的冷启动"),
    ],
)
def test_a_concept_is_found_under_any_of_its_names(archive, query, found):
    assert found in _titles(search(LibraryItem.objects.all(), query))
    assert found not in _titles(search(LibraryItem.objects.all(), query, literal=True))


def test_the_rest_of_the_query_still_has_to_match(archive):
    # NER or its other names, AND 综述: the English paper has no 综述.
    assert _titles(search(LibraryItem.objects.all(), "NER 综述")) == {"命名实体识别 综述"}
    assert _titles(search(LibraryItem.objects.all(), "命名实体识别综述")) == {"命名实体识别 综述"}


def test_members_do_not_bring_in_their_concept(archive):
    # YOLO is a member of object detection: searching it does not search every detector.
    plan = search_plan("YOLO")
    assert plan.also_searched == []
    assert _titles(search(LibraryItem.objects.all(), "YOLO")) == {"YOLO: You Only Look Once"}


def test_abbreviations_match_whole_words_only(archive):
    for literal in (False, True):
        found = _titles(search(LibraryItem.objects.all(), "RE", literal=literal))
        assert "Embedding-based Retrieval in Facebook Search" not in found
    assert "远程监督关系抽取" in _titles(search(LibraryItem.objects.all(), "RE"))
    # An unknown short word is still a prefix, as before.
    assert "Embedding-based Retrieval in Facebook Search" in _titles(
        search(LibraryItem.objects.all(), "retr")
    )


def test_the_plan_lists_what_else_it_searched():
    plan = search_plan("命名实体识别")
    assert plan.also_searched[:2] == ["named entity recognition", "entity recognition"]
    assert "NER" in plan.also_searched
    literal = search_plan("命名实体识别", literal=True)
    assert literal.also_searched == [] and literal.could_expand
    assert len(literal.groups) == 1 and len(literal.groups[0]) == 1


def test_the_work_is_bounded():
    names = [entry["terms"][0]["text"] for entry in read_file()[:30]]
    plan = search_plan(" ".join(names))

    alternatives = sum(len(group) - 1 for group in plan.groups)
    tokens = sum(len(tokens) for group in plan.groups for tokens in group)
    literal = sum(len(group[0]) for group in plan.groups)
    assert 0 < alternatives <= MAX_ALTERNATIVES
    assert len(plan.also_searched) <= MAX_ALTERNATIVES
    assert literal <= MAX_QUERY_TOKENS
    assert tokens <= MAX_EXPANDED_TOKENS
    assert list(search(LibraryItem.objects.all(), " ".join(names))) == []  # and it runs
    # A long run of Chinese terms is bounded the same way.
    chinese = "".join(
        n for n in (e["terms"][0]["text"] for e in read_file()[:40]) if n[0] >= "\u4e00"
    )
    plan = search_plan(chinese)
    assert sum(len(group) - 1 for group in plan.groups) <= MAX_ALTERNATIVES
    assert sum(len(group[0]) for group in plan.groups) <= MAX_QUERY_TOKENS


# --- The page and the API -------------------------------------------------------------------


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_page_says_what_else_it_searched_and_offers_the_literal_words(
    client, archive, language
):
    client.cookies["django_language"] = language
    url = reverse("library:index")

    page = client.get(url, {"q": "NER"}).content.decode()

    with translation.override(language):
        separator = pgettext("between the items of a list", ", ")
        names = separator.join(search_plan("NER").also_searched)
        line = gettext("Also searched for: %(terms)s") % {"terms": names}
        only = gettext("Search only these words")
    assert 'data-role="also-searched"' in page
    assert line in page and "命名实体识别" in names and "named entity recognition" in names
    assert only in page and "q=NER&amp;literal=1" in page
    assert "命名实体识别 综述" in page

    literal = client.get(url, {"q": "NER", "literal": "1"}).content.decode()
    assert "命名实体识别 综述" not in literal
    with translation.override(language):
        assert gettext("Search related terms too") in literal
    assert client.get(url, {"q": "NER", "literal": "yes"}).status_code == 200


def test_the_api_lists_what_else_it_searched(client, archive):
    url = reverse("api-v1:library_items")

    data = client.get(url, {"q": "NER"}).json()
    assert "命名实体识别" in data["also_searched"]
    assert "命名实体识别 综述" in {row["title"] for row in data["results"]}

    literal = client.get(url, {"q": "NER", "literal": "1"}).json()
    assert literal["also_searched"] == []
    assert "命名实体识别 综述" not in {row["title"] for row in literal["results"]}
    assert client.get(url).json()["also_searched"] == []
    refused = client.get(url, {"q": "NER", "literal": "2"})
    assert refused.status_code == 400 and "literal" in refused.json()["errors"]


# --- Organisers edit it ---------------------------------------------------------------------


def _concept_form(key, names, **extra):
    data = {
        "key": key, "area": "ml", "note": "",
        "terms-TOTAL_FORMS": str(len(names)), "terms-INITIAL_FORMS": "0",
        "terms-MIN_NUM_FORMS": "0", "terms-MAX_NUM_FORMS": "1000",
    }  # fmt: skip
    for n, (text, kind) in enumerate(names):
        data[f"terms-{n}-text"] = text
        data[f"terms-{n}-kind"] = kind
    return {**data, **extra}


def test_an_organisers_admin_edit_takes_effect_at_once_and_survives_a_reload(client):
    _item("图灵测试的五十年")
    client.force_login(UserFactory(role=Role.ORGANISER))
    assert search_plan("Turing test").also_searched == []

    response = client.post(
        reverse("admin:library_concept_add"),
        _concept_form("turing-test", [("图灵测试", "term"), ("Turing test", "term")]),
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    assert Concept.objects.get(key="turing-test").edited
    listed = client.get(reverse("admin:library_concept_changelist"), {"q": "图灵测试"})
    assert "turing-test" in listed.content.decode()
    assert "命名实体识别" not in listed.content.decode()
    assert _titles(search(LibraryItem.objects.all(), "Turing test")) == {"图灵测试的五十年"}
    # Edited in the admin: reloading the shipped file keeps it, --replace does not.
    ner = Concept.objects.get(key="ner")
    ner.terms.filter(text="NER").delete()
    ner.edited = True
    ner.save()
    assert "NER" not in search_plan("命名实体识别").also_searched
    out = io.StringIO()
    call_command("vocabulary_load", stdout=out)
    assert "kept as edited" in out.getvalue()
    assert Concept.objects.filter(key="turing-test").exists()
    assert "NER" not in search_plan("命名实体识别").also_searched
    call_command("vocabulary_load", "--replace", stdout=io.StringIO())
    assert not Concept.objects.filter(key="turing-test").exists()
    assert "NER" in search_plan("命名实体识别").also_searched
    assert search_plan("Turing test").also_searched == []


def test_a_name_of_another_concept_is_refused_on_the_form(client):
    client.force_login(UserFactory(role=Role.ORGANISER))
    before = Term.objects.count()

    taken = client.post(
        reverse("admin:library_concept_add"),
        _concept_form("mine", [("NER", "abbreviation"), ("我的概念", "term")]),
    )
    twice = client.post(
        reverse("admin:library_concept_add"),
        _concept_form("twice", [("某某概念", "term"), ("某某概念", "term")]),
    )
    mixed = client.post(
        reverse("admin:library_concept_add"),
        _concept_form("mixed", [("BERT模型", "term"), ("Big Model", "abbreviation")]),
    )

    for response in (taken, twice, mixed):
        assert response.status_code == 200
        assert response.context["inline_admin_formsets"][0].formset.errors
    assert Term.objects.count() == before
    assert not Concept.objects.filter(key__in=["mine", "twice", "mixed"]).exists()


def test_vocabulary_load_refuses_a_broken_file(tmp_path):
    broken = tmp_path / "vocabulary.json"
    broken.write_text(json.dumps({"concepts": [{"key": "x", "zh": ["模"]}]}), encoding="utf-8")
    before = Term.objects.count()

    with pytest.raises(Exception, match="2 to"):
        call_command("vocabulary_load", "--file", str(broken), stdout=io.StringIO())
    assert Term.objects.count() == before

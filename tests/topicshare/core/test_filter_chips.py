"""The active filters of the topic sheet and the library as removable chips."""

import pytest
from django.urls import reverse

from sessions.models import TopicStatus
from tests.factories import TopicFactory, TrackFactory

pytestmark = pytest.mark.django_db


def test_the_sheet_shows_each_active_filter_as_a_chip_that_removes_it(client):
    track = TrackFactory(slug="nlp", name_zh="自然语言处理", name_en="NLP")
    TopicFactory(track=track, status=TopicStatus.PROPOSED)

    response = client.get(
        reverse("topics:sheet"),
        {"track": "nlp", "status": ["proposed", "accepted"], "q": "bert", "page": 2},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert '<details class="filters-fold"' in html
    assert html.count('data-action="remove-filter"') == 4
    assert "Track: NLP" in html
    assert "Status: Proposed" in html
    # The chip for one status keeps the other filters and drops the page number.
    assert 'href="?q=bert&amp;status=accepted&amp;track=nlp"' in html


def test_no_chips_without_filters_and_none_for_a_bad_value(client):
    html = client.get(reverse("topics:sheet")).content.decode()
    assert "filter-chips" not in html

    html = client.get(reverse("library:index"), {"has_slides": "unknown"}).content.decode()
    assert "filter-chips" not in html


def test_the_library_shows_its_facets_as_chips(client):
    response = client.get(
        reverse("library:index"), {"kind": "talk", "has_slides": "true"}, HTTP_ACCEPT_LANGUAGE="en"
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('data-action="remove-filter"') == 2
    assert 'href="?has_slides=true"' in html

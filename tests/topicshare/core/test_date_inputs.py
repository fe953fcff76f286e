"""Every date, time and date-time input renders an ISO value, whatever the language.

A browser's <input type="date"> takes only 2027-01-04; Django's Chinese formats put
"%Y/%m/%d" first, so a date rendered in zh-hans showed an empty field and saving erased it.
These tests walk every form of the project (site forms, filter sets, the admin's forms and
inlines) and render each date/time widget in every language; then they take real forms
through a round trip: GET the edit page in Chinese, POST back what it shows."""

import datetime
import importlib
import pkgutil
import re

import django_filters
import pytest
from django import forms
from django.conf import settings
from django.contrib import admin
from django.test import RequestFactory
from django.urls import reverse
from django.utils import formats, translation

from members.roles import Role
from sessions.models import Season, Task, Topic, TopicStatus
from tests.factories import TopicFactory, TrackFactory, UserFactory
from tests.html_forms import html_forms
from topicshare.core.widgets import DateInput, DateTimeInput

pytestmark = pytest.mark.django_db

PROJECT_PACKAGES = ("members", "sessions", "library", "topicshare")
DAY = datetime.date(2027, 1, 4)
MOMENT = datetime.datetime(2027, 1, 4, 20, 30)
TIME = datetime.time(20, 30)
# What the HTML standard's date / time / local date-time values look like.
ISO_DATE = "2027-01-04"
ISO_TIME = re.compile(r"^20:30(:00)?$")
ISO_DATETIME = re.compile(r"^2027-01-04[T ]20:30(:00)?$")
LANGUAGES = [code for code, _name in settings.LANGUAGES]


def _import_project_modules() -> None:
    for package_name in PROJECT_PACKAGES:
        package = importlib.import_module(package_name)
        for module in pkgutil.walk_packages(package.__path__, f"{package_name}."):
            if any(part in module.name for part in (".migrations", ".management", ".settings")):
                continue
            importlib.import_module(module.name)


def _subclasses(cls) -> list[type]:
    found, queue = [], list(cls.__subclasses__())
    while queue:
        sub = queue.pop()
        found.append(sub)
        queue.extend(sub.__subclasses__())
    return found


def _ours(cls) -> bool:
    return cls.__module__.split(".")[0] in PROJECT_PACKAGES


def project_form_fields() -> list[tuple[str, forms.Field]]:
    """(label, field) of every form field of the project's forms and filter sets."""
    _import_project_modules()
    fields = []
    for form_class in filter(_ours, _subclasses(forms.BaseForm)):
        for name, field in form_class.base_fields.items():
            fields.append((f"{form_class.__module__}.{form_class.__qualname__}.{name}", field))
    for filterset in filter(_ours, _subclasses(django_filters.FilterSet)):
        for name, filter_ in filterset.base_filters.items():
            label = f"{filterset.__module__}.{filterset.__qualname__}.{name}"
            fields.append((label, filter_.field))
    return fields


def admin_form_fields(request) -> list[tuple[str, forms.Field]]:
    """(label, field) of every admin change form and inline, as the admin builds them."""
    fields = []
    for model, model_admin in admin.site._registry.items():
        form_classes = [(model._meta.label, model_admin.get_form(request))]
        for inline in model_admin.get_inline_instances(request):
            form_classes.append((inline.model._meta.label, inline.get_formset(request).form))
        for label, form_class in form_classes:
            for name, field in form_class.base_fields.items():
                fields.append((f"admin {model._meta.label} › {label}.{name}", field))
    return fields


def value_of(field: forms.Field):
    if isinstance(field, forms.SplitDateTimeField):
        return MOMENT
    if isinstance(field, forms.DateTimeField):
        return MOMENT
    if isinstance(field, forms.DateField):
        return DAY
    if isinstance(field, forms.TimeField):
        return TIME
    return None


def rendered_values(field: forms.Field, value) -> list[str]:
    html = field.widget.render("x", value)
    return re.findall(r'value="([^"]*)"', html)


def wrong_renderings(fields, language: str) -> list[str]:
    problems = []
    with translation.override(language):
        for label, field in fields:
            value = value_of(field)
            if value is None:
                continue
            values = rendered_values(field, value)
            if isinstance(field, forms.SplitDateTimeField):
                ok = len(values) == 2 and values[0] == ISO_DATE and ISO_TIME.match(values[1])
            elif isinstance(field, forms.DateTimeField):
                ok = len(values) == 1 and ISO_DATETIME.match(values[0])
            elif isinstance(field, forms.DateField):
                ok = values == [ISO_DATE]
            else:
                ok = len(values) == 1 and ISO_TIME.match(values[0])
            if not ok:
                problems.append(f"{language}: {label} renders {values}")
    return problems


def _date_fields(fields) -> list[str]:
    return [label for label, field in fields if value_of(field) is not None]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_project_form_renders_dates_in_iso(language):
    fields = project_form_fields()
    # The walk must find the forms that have dates, or it proves nothing.
    assert {
        "sessions.topics.forms.TopicForm.preferred_week",
        "sessions.topics.forms.TaskForm.due_date",
        "sessions.weekly.forms.ScheduleForm.custom_start",
    } <= set(_date_fields(fields))

    assert wrong_renderings(fields, language) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_admin_form_renders_dates_in_iso(language):
    organiser = UserFactory(role=Role.ORGANISER, is_staff=True)
    request = RequestFactory().get("/admin/")
    request.user = organiser
    fields = admin_form_fields(request)
    assert {
        "admin topic_sessions.Season › topic_sessions.Season.start_date",
        "admin topic_sessions.Track › topic_sessions.Track.local_time",
        "admin topic_sessions.Topic › topic_sessions.Topic.preferred_week",
    } <= set(_date_fields(fields))

    assert wrong_renderings(fields, language) == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_language_parses_what_it_renders(language):
    """The first input format is the one widgets render; it must be ISO, and the field
    must read back the value it rendered."""
    with translation.override(language):
        for field, value in [
            (forms.DateField(), DAY),
            (forms.DateTimeField(), MOMENT),
            (forms.TimeField(), TIME),
        ]:
            (shown,) = rendered_values(field, value)
            parsed = field.clean(shown)
            if isinstance(parsed, datetime.datetime):
                parsed = parsed.replace(tzinfo=None)
            assert parsed == value, (language, shown)


@pytest.fixture
def django_formats_only(settings):
    """Django's own formats ("%Y/%m/%d" first in Chinese), without the project's."""
    settings.FORMAT_MODULE_PATH = None
    formats.reset_format_cache()  # the setting_changed signal does not do it for this one
    yield
    settings.FORMAT_MODULE_PATH = ["topicshare.formats"]
    formats.reset_format_cache()


@pytest.mark.parametrize("language", LANGUAGES)
def test_browser_pickers_render_iso_even_where_the_language_would_not(
    language, django_formats_only
):
    """The HTML standard fixes these values' format; the widgets do not ask the language."""

    with translation.override(language):
        assert DateInput().render("d", DAY) == '<input type="date" name="d" value="2027-01-04">'
        assert DateTimeInput().render("t", MOMENT) == (
            '<input type="datetime-local" name="t" value="2027-01-04T20:30">'
        )


def _zh_client(client, user):
    client.force_login(user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    return client


def _form_with(response, field_name: str):
    (form,) = [form for form in html_forms(response.content) if field_name in form.data()]
    return form


def test_topic_edit_in_chinese_keeps_the_preferred_week(client):
    proposer = UserFactory(role=Role.MEMBER, preferred_language="zh-hans")
    topic = TopicFactory(proposer=proposer, preferred_week=DAY, status=TopicStatus.PROPOSED)
    _zh_client(client, proposer)
    url = reverse("topics:edit", args=[topic.pk])

    page = client.get(url)
    form = _form_with(page, "preferred_week")
    response = client.post(url, form.data())

    assert '<html lang="zh-hans"' in page.content.decode()
    assert form.inputs("date") == {"preferred_week": ISO_DATE}
    assert response.status_code == 302
    topic.refresh_from_db()
    assert topic.preferred_week == DAY


def test_task_form_in_chinese_sends_back_an_iso_due_date(client):
    proposer = UserFactory(role=Role.MEMBER)
    topic = TopicFactory(proposer=proposer, status=TopicStatus.PREPARING)
    _zh_client(client, proposer)
    url = reverse("topics:group", args=[topic.pk])
    # An invalid task (no title) brings the form back with the date as typed: still ISO.
    page = client.post(url, {"add_task": "1", "title": "", "due_date": ISO_DATE})
    form = _form_with(page, "due_date")
    data = form.data({"name": "add_task", "value": "1"})
    data["title"] = ["复现实验"]

    client.post(url, data)

    assert form.inputs("date")["due_date"] == ISO_DATE
    assert Task.objects.get(topic=topic).due_date == DAY


def test_admin_season_edit_in_chinese_keeps_its_dates(client):
    organiser = UserFactory(role=Role.ORGANISER, is_staff=True)
    season = Season.objects.create(
        label="Topic 9", order=9, start_date=DAY, end_date=datetime.date(2027, 3, 28)
    )
    _zh_client(client, organiser)
    url = reverse("admin:topic_sessions_season_change", args=[season.pk])

    page = client.get(url)
    form = _form_with(page, "start_date")
    response = client.post(url, form.data({"name": "_save"}))

    assert form.data()["start_date"] == [ISO_DATE]
    assert form.data()["end_date"] == ["2027-03-28"]
    assert response.status_code == 302, response.content.decode()[:2000]
    season.refresh_from_db()
    assert (season.start_date, season.end_date) == (DAY, datetime.date(2027, 3, 28))


def test_admin_track_time_in_chinese_round_trips(client):
    organiser = UserFactory(role=Role.ORGANISER, is_staff=True)
    track = TrackFactory(slug="cv", local_time=datetime.time(21, 30))
    _zh_client(client, organiser)
    url = reverse("admin:topic_sessions_track_change", args=[track.pk])

    page = client.get(url)
    form = _form_with(page, "local_time")
    response = client.post(url, form.data({"name": "_save"}))

    assert re.match(r"^21:30(:00)?$", form.data()["local_time"][0])
    assert response.status_code == 302
    track.refresh_from_db()
    assert track.local_time == datetime.time(21, 30)


def test_topic_without_a_week_stays_without(client):
    proposer = UserFactory(role=Role.MEMBER)
    topic = TopicFactory(proposer=proposer, preferred_week=None)
    _zh_client(client, proposer)
    url = reverse("topics:edit", args=[topic.pk])

    form = _form_with(client.get(url), "preferred_week")
    client.post(url, form.data())

    assert Topic.objects.get(pk=topic.pk).preferred_week is None

"""我来 / 完成: claiming and finishing tasks in one tap, and the checklist's own tasks."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from members.roles import Role
from sessions.models import CHECKLIST, Participation, Task, Topic, TopicStatus
from sessions.topics.services import (
    TopicError,
    checklist_tasks_create,
    task_claim,
    task_finish,
    task_update,
    topic_propose,
    topic_transition,
    topic_update,
)
from tests.factories import TopicFactory, TrackFactory, UserFactory

pytestmark = pytest.mark.django_db
S = TopicStatus


@pytest.fixture
def group():
    topic = TopicFactory(status=S.PREPARING, proposer=UserFactory(role=Role.MEMBER))
    ann = UserFactory(display_name="Ann")
    Participation.objects.create(topic=topic, user=ann, role=Participation.Role.PARTICIPANT)
    return topic, ann


def test_task_claim_assigns_me_and_starts_it(group):
    topic, ann = group
    task = Task.objects.create(topic=topic, title="复现实验")
    task_claim(task=task, by=ann)
    task.refresh_from_db()
    assert (task.assignee, task.status) == (ann, Task.Status.DOING)


def test_task_claim_refuses_a_task_someone_has(group):
    topic, ann = group
    task = Task.objects.create(topic=topic, title="复现实验", assignee=topic.proposer)
    with pytest.raises(TopicError, match="already"):
        task_claim(task=task, by=ann)
    assert Task.objects.get(pk=task.pk).assignee == topic.proposer


def test_task_claim_refuses_people_outside_the_group_and_closed_topics(group):
    topic, _ann = group
    task = Task.objects.create(topic=topic, title="复现实验")
    with pytest.raises(PermissionDenied):
        task_claim(task=task, by=UserFactory(role=Role.MEMBER))
    with pytest.raises(PermissionDenied):  # an organiser runs the group but is not in it
        task_claim(task=task, by=UserFactory(role=Role.ORGANISER))
    Topic.objects.filter(pk=topic.pk).update(status=S.CANCELLED)
    with pytest.raises(TopicError, match="closed"):
        task_claim(task=Task.objects.get(pk=task.pk), by=topic.proposer)
    assert Task.objects.get(pk=task.pk).assignee is None


def test_task_finish_by_assignee_and_unassigned_becomes_the_finishers(group):
    topic, ann = group
    mine = Task.objects.create(topic=topic, title="A", assignee=ann)
    nobodys = Task.objects.create(topic=topic, title="B")
    task_finish(task=mine, by=ann)
    task_finish(task=nobodys, by=ann)
    assert list(Task.objects.filter(topic=topic).values_list("status", "assignee")) == [
        (Task.Status.DONE, ann.pk),
        (Task.Status.DONE, ann.pk),
    ]


def test_task_finish_refuses_someone_elses_task_but_not_the_presenter(group):
    topic, ann = group
    task = Task.objects.create(topic=topic, title="A", assignee=topic.proposer)
    with pytest.raises(TopicError, match="is on this task already"):
        task_finish(task=task, by=ann)
    theirs = Task.objects.create(topic=topic, title="B", assignee=ann)
    task_finish(task=theirs, by=topic.proposer)  # the presenter runs the board
    assert Task.objects.get(pk=theirs.pk).status == Task.Status.DONE
    with pytest.raises(TopicError, match="done already"):
        task_finish(task=theirs, by=ann)


def test_recruiting_opens_with_the_five_checklist_tasks_once():
    organiser = UserFactory(role=Role.ORGANISER)
    proposer = UserFactory(role=Role.MEMBER)
    topic = topic_propose(proposer=proposer, track=TrackFactory(), title="Sentence-BERT")
    topic_update(topic=topic, by=proposer, check_intro=True)
    topic_transition(topic=topic, to=S.ACCEPTED, by=organiser)
    topic_transition(topic=topic, to=S.RECRUITING, by=organiser)
    tasks = list(Task.objects.filter(topic=topic).order_by("id"))
    assert [(task.checklist_item, task.status) for task in tasks] == [
        (field, Task.Status.DONE if field == "check_intro" else Task.Status.TODO)
        for field, _label in CHECKLIST
    ]
    assert [task.label for task in tasks] == [str(label) for _field, label in CHECKLIST]
    assert checklist_tasks_create(topic=topic) == []
    assert Task.objects.filter(topic=topic).count() == 5


def test_a_checklist_task_and_its_item_stay_in_step(group):
    topic, ann = group
    checklist_tasks_create(topic=topic)
    code = Task.objects.get(topic=topic, checklist_item="check_code")
    task_finish(task=code, by=ann)
    assert Topic.objects.get(pk=topic.pk).check_code is True
    task_update(task=Task.objects.get(pk=code.pk), by=ann, status=Task.Status.DOING)
    assert Topic.objects.get(pk=topic.pk).check_code is False
    topic_update(topic=Topic.objects.get(pk=topic.pk), by=topic.proposer, check_survey=True)
    assert Task.objects.get(topic=topic, checklist_item="check_survey").status == "done"


def test_group_page_buttons_claim_and_finish_in_one_tap(client, group):
    topic, ann = group
    task = Task.objects.create(topic=topic, title="复现实验")
    client.force_login(ann)
    page = client.get(reverse("topics:group", args=[topic.pk])).content.decode()
    assert 'data-action="claim"' in page
    response = client.post(reverse("topics:task-claim", args=[topic.pk, task.pk]))
    assert response.url == reverse("topics:group", args=[topic.pk]) + f"#task-{task.pk}"
    response = client.post(
        reverse("topics:task-finish", args=[topic.pk, task.pk]),
        {"next": "https://evil.example.org/"},
    )
    assert response.url.startswith("/topics/")  # never off the site
    response = client.post(
        reverse("topics:task-finish", args=[topic.pk, task.pk]), {"next": "/me/"}
    )
    assert response.url == "/me/"  # refused (done already), back where it was tapped
    task.refresh_from_db()
    assert (task.assignee, task.status) == (ann, Task.Status.DONE)


def test_the_ready_refusal_links_to_the_missing_items(client, group):
    topic, _ann = group
    Topic.objects.filter(pk=topic.pk).update(check_intro=True, check_code=True)
    client.force_login(topic.proposer)
    page = client.get(reverse("topics:detail", args=[topic.pk])).content.decode()
    missing = [field for field, _label in CHECKLIST if field not in {"check_intro", "check_code"}]
    for field in missing:
        assert f'href="#checklist-{field}" data-missing="{field}"' in page
    assert 'data-missing="check_intro"' not in page
    assert 'id="checklist-check_intro"' in page

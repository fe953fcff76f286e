"""Tasks and a member leaving the group at that very moment (races looked for while building
the mixed load, bench/mixed_load.py): the leave hands the leaver's tasks back, so a task given
to them meanwhile must not stay with them, and a task changing meanwhile must not deadlock."""

import threading

import pytest
from django.db import connection, connections

from members.roles import Role
from sessions.models import Participation, Task, TopicStatus
from sessions.topics import services
from sessions.topics.services import group_join, group_leave, task_create, task_update
from tests.factories import TopicFactory, UserFactory


def _someone_waits_for_a_lock() -> bool:
    """Whether a connection to this database waits for a row lock (the leave, held back)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE NOT l.granted AND a.datname = current_database())"
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["assigned", "created for them"])
def test_a_task_given_to_someone_leaving_the_group_does_not_stay_with_them(monkeypatch, how):
    if connection.vendor != "postgresql":
        pytest.skip("row locks under a race: run with DATABASE_URL=postgres://… (CI does)")
    topic = TopicFactory(status=TopicStatus.RECRUITING, capacity=3)
    leaver = UserFactory(role=Role.MEMBER)
    group_join(topic=topic, user=leaver)
    task = Task.objects.create(topic=topic, title="Slides")
    left = threading.Event()
    errors: list[Exception] = []
    threads: list[threading.Thread] = []

    def leave():
        try:
            group_leave(topic=topic, user=leaver)
        except Exception as error:  # noqa: BLE001 — reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()
            left.set()

    checked = services._check_assignee

    def check_then_leave(topic, assignee):
        checked(topic, assignee)
        # Right after the check, the assignee leaves in another request: it either goes
        # through at once or waits for a lock this transaction holds.
        thread = threading.Thread(target=leave)
        threads.append(thread)
        thread.start()
        for _ in range(600):
            if left.wait(0.05) or _someone_waits_for_a_lock():
                break

    monkeypatch.setattr(services, "_check_assignee", check_then_leave)
    if how == "assigned":
        task_update(task=task, by=topic.proposer, assignee=leaver)
    else:
        task = task_create(topic=topic, by=topic.proposer, title="Code", assignee=leaver)
    threads[0].join(timeout=30)

    assert errors == []
    assert not Participation.objects.filter(topic=topic, user=leaver).exists()
    task.refresh_from_db()
    assert task.assignee_id is None


@pytest.mark.django_db(transaction=True)
def test_finishing_a_checklist_task_while_its_assignee_leaves_does_not_deadlock(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("row locks under a race: run with DATABASE_URL=postgres://… (CI does)")
    topic = TopicFactory(status=TopicStatus.RECRUITING, capacity=3)
    leaver = UserFactory(role=Role.MEMBER)
    group_join(topic=topic, user=leaver)
    task = Task.objects.create(
        topic=topic, title="Slides", checklist_item="check_intro", assignee=leaver
    )
    left = threading.Event()
    errors: list[Exception] = []
    threads: list[threading.Thread] = []

    def leave():
        try:
            group_leave(topic=topic, user=leaver)
        except Exception as error:  # noqa: BLE001 — reported by the assertion below
            errors.append(error)
        finally:
            connections.close_all()
            left.set()

    ticked = services._task_to_checklist

    def leave_then_tick(task):
        # The task is saved (its row locked); now the assignee leaves in another request,
        # and the checklist item is ticked on the topic.
        thread = threading.Thread(target=leave)
        threads.append(thread)
        thread.start()
        for _ in range(600):
            if left.wait(0.05) or _someone_waits_for_a_lock():
                break
        ticked(task)

    monkeypatch.setattr(services, "_task_to_checklist", leave_then_tick)
    task_update(task=task, by=topic.proposer, status=Task.Status.DONE)
    threads[0].join(timeout=30)

    assert errors == []
    task.refresh_from_db()
    topic.refresh_from_db()
    assert (task.status, task.assignee_id, topic.check_intro) == (Task.Status.DONE, None, True)

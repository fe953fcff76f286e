import os

import pytest
from django.core.management import CommandError, call_command

from members.models import User
from members.roles import Role


@pytest.mark.django_db
def test_seed_demo_is_idempotent_and_covers_every_role(capsys):
    call_command("seed_demo")
    call_command("seed_demo")

    roles = {user.role for user in User.objects.filter(email__endswith="@demo.topicshare.local")}
    assert roles == set(Role)
    # one per role, plus an audience member whose application waits for the committee and a
    # member who never comes
    assert User.objects.filter(email__endswith="@demo.topicshare.local").count() == 6
    assert "organiser@demo.topicshare.local" in capsys.readouterr().out


@pytest.mark.django_db
def test_seed_demo_refuses_under_production(settings):
    settings.TOPICSHARE_DEMO_ALLOWED = False

    with pytest.raises(CommandError, match="production"):
        call_command("seed_demo")


@pytest.mark.django_db
def test_seed_demo_has_topics_in_every_state():
    from sessions.models import Topic, TopicStatus

    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115

    statuses = set(Topic.objects.values_list("status", flat=True))
    assert statuses == set(TopicStatus.values)
    assert Topic.objects.count() == 10


@pytest.mark.django_db
def test_seed_demo_gives_the_season_review_something_to_show():
    from members.ledger.services import Status, current_season, season_ledger

    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115

    ledger = season_ledger(current_season())
    assert ledger.sessions_held == 1
    assert [row.user.email for row in ledger.flagged] == ["quiet@demo.topicshare.local"]
    mei = next(row for row in ledger.rows if row.user.email == "member@demo.topicshare.local")
    assert (mei.status, mei.tasks_done) == (Status.ACTIVE, 2)


@pytest.mark.django_db
def test_seed_demo_points_to_a_session_whose_promotion_pack_is_ready(client, capsys):
    import re

    call_command("seed_demo")

    match = re.search(r"http://127\.0\.0\.1:8000(/sessions/\d+/promote/)", capsys.readouterr().out)
    assert match
    client.force_login(User.objects.get(email="organiser@demo.topicshare.local"))
    page = client.get(match[1])
    assert page.status_code == 200
    html = page.content.decode()
    assert "poster.png" in html and "data-copy" in html


@pytest.mark.django_db
def test_seed_demo_puts_people_on_the_study_group_checklist_once():
    from topicshare.forum.models import ForumSettings, GroupChange

    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
    call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115

    waiting = GroupChange.objects.filter(done_at=None).order_by("change")
    assert [(row.change, row.user.email) for row in waiting] == [
        ("add", "member@demo.topicshare.local"),
        ("remove", "audience@demo.topicshare.local"),
    ]
    assert GroupChange.objects.count() == 3
    forum = ForumSettings.load()
    assert forum.study_group_steps and forum.study_group_qr.name.startswith("forum/private/")


@pytest.mark.django_db
def test_seed_demo_has_wanted_topics_and_a_waitlist():
    from sessions.models import Topic, WaitlistEntry

    call_command("seed_demo")
    call_command("seed_demo")

    counts = list(
        Topic.objects.filter(interest_count__gt=0).values_list("interest_count", flat=True)
    )
    assert len(counts) >= 2 and len(set(counts)) >= 2  # the sheet's sort shows something
    assert WaitlistEntry.objects.count() == 1


@pytest.mark.django_db
def test_seed_demo_has_deadlines_tied_to_the_next_session_and_a_follower():
    from sessions.models import Task

    call_command("seed_demo")

    tied = Task.objects.filter(due_before_session__isnull=False)
    assert {task.due_before_session for task in tied} == {7, 3, 1}
    assert all(task.due_date is not None for task in tied)
    assert User.objects.filter(news_delivery="weekly", tracks_of_interest__isnull=False).exists()

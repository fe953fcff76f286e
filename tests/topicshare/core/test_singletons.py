"""One-row settings kept in the process and the shared cache (topicshare.core.singletons)."""

import pytest
from django.core.cache import cache

from members.ledger.models import LedgerPolicy
from topicshare.core.pagecache import bump_content_version, content_version, data_version
from topicshare.core.singletons import forget_kept_rows, kept_row
from topicshare.forum.models import ForumSettings

pytestmark = pytest.mark.django_db


def test_read_once_then_kept_in_the_process(django_assert_num_queries):
    ForumSettings.load()
    kept_row(ForumSettings, version=content_version())

    with django_assert_num_queries(0):
        assert kept_row(ForumSettings, version=content_version()).forum_name


def test_another_process_reads_it_from_the_shared_cache(django_assert_num_queries):
    ForumSettings.load()
    kept_row(ForumSettings, version=content_version())
    forget_kept_rows()  # as if another worker asks

    with django_assert_num_queries(0):
        kept_row(ForumSettings, version=content_version())


def test_a_change_of_anything_else_does_not_read_it_again(django_assert_num_queries):
    ForumSettings.cached()
    bump_content_version()  # a topic was edited, say: every process reads the version again

    with django_assert_num_queries(1):  # the versions, not the settings
        ForumSettings.cached()


def test_a_save_shows_at_once_here_and_in_other_processes():
    settings = ForumSettings.load()
    assert ForumSettings.cached().forum_name == settings.forum_name

    settings.forum_name = "周末读论文"
    settings.save()

    assert ForumSettings.cached().forum_name == "周末读论文"
    forget_kept_rows()
    assert ForumSettings.cached().forum_name == "周末读论文"


def test_a_row_read_just_before_a_save_is_not_kept_past_it():
    """Process A reads the old row, B saves and grows the generation, then A stores what it
    read: under the old generation, which nobody reads again."""
    old = LedgerPolicy.load()
    generation = cache.get("row-generation:ledger.ledgerpolicy", 0)

    changed = LedgerPolicy.load()
    changed.min_attendance_percent = 75
    changed.save()  # B
    cache.set(f"row:ledger.ledgerpolicy:{generation}", old)  # A, late
    forget_kept_rows()

    assert kept_row(LedgerPolicy, version=data_version(fresh=True)).min_attendance_percent == 75


def test_a_deleted_row_is_made_again_with_its_defaults(django_capture_on_commit_callbacks):
    policy = LedgerPolicy.load()
    policy.min_attendance_percent = 10
    policy.save()
    assert LedgerPolicy.kept().min_attendance_percent == 10

    with django_capture_on_commit_callbacks(execute=True):  # a delete runs in a transaction
        policy.delete()

    assert LedgerPolicy.kept().min_attendance_percent == 40

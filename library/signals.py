"""Seasons and tracks are edited in the admin; their order is copied onto library items
(LibraryItem.season_rank / domain_rank) so that browsing reads an index in order. A person
merged into another account changes the presenters in the items' search tokens. A presented
session becomes a library item."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from library.models import LibraryItem
from library.services import item_for_session, items_reindex, items_rerank
from members.models import User
from members.placeholders import user_rows_move
from members.signals import user_merged, user_merging
from sessions.models import Season, Track, WeeklySession
from sessions.weekly.signals import session_done


@receiver(post_save, sender=Season, dispatch_uid="library-season-rank")
def season_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        items_rerank(season=instance)


@receiver(post_save, sender=Track, dispatch_uid="library-domain-rank")
def track_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        items_rerank(domain=instance)


@receiver(user_merging, sender=User, dispatch_uid="library-move-rows")
def rows_to_the_account(sender, placeholder, into, **kwargs) -> str:
    return user_rows_move(app_label="library", placeholder=placeholder, into=into)


@receiver(user_merged, sender=User, dispatch_uid="library-merge-presenters")
def presenters_merged(sender, into, **kwargs):
    items_reindex(LibraryItem.objects.filter(presenters=into))


@receiver(session_done, sender=WeeklySession, dispatch_uid="library-item-for-session")
def talk_presented(sender, session, **kwargs):
    item_for_session(session=session)

"""Seasons and tracks are edited in the admin; their order is copied onto library items
(LibraryItem.season_rank / domain_rank) so that browsing reads an index in order."""

from django.db.models.signals import post_save
from django.dispatch import receiver

from library.services import items_rerank
from sessions.models import Season, Track


@receiver(post_save, sender=Season, dispatch_uid="library-season-rank")
def season_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        items_rerank(season=instance)


@receiver(post_save, sender=Track, dispatch_uid="library-domain-rank")
def track_saved(sender, instance, raw=False, **kwargs):
    if not raw:
        items_rerank(domain=instance)

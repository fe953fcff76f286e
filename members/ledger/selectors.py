"""Reads of the season ledger used by other pages (the organisers' inbox)."""

import datetime

from members.ledger.services import LedgerRow, season_ledger
from sessions.models import Season


def flagged_at_season_end(*, today: datetime.date) -> tuple[Season | None, list[LedgerRow]]:
    """The season that ended last (its end date on or before `today`) and its members the
    policy flags, who wait for an organiser's decision. No ended season: (None, [])."""
    season = (
        Season.objects.filter(end_date__isnull=False, end_date__lte=today)
        .order_by("-end_date", "-order", "-id")
        .first()
    )
    if season is None:
        return None, []
    return season, season_ledger(season).flagged

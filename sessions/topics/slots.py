"""A track's weekly slot (its weekday, local time and time zone): when its sessions can be."""

import datetime
import zoneinfo

from sessions.topics.models import Track, monday_of

# How far ahead the slots are offered (scheduling) and looked for.
UPCOMING_WEEKS = 12
# DOMAIN.md: two weeks before its week a topic is promoted and its group recruited (宣传 + 建群).
RECRUITING_OPENS_BEFORE = datetime.timedelta(days=14)


def track_slots(
    *, track: Track, after: datetime.datetime, weeks: int = UPCOMING_WEEKS
) -> list[datetime.datetime]:
    """The next `weeks` starts of the track's weekly slot strictly after `after`, as aware
    datetimes in the track's time zone (DST-safe: the wall-clock time stays fixed)."""
    zone = zoneinfo.ZoneInfo(track.time_zone)
    local = after.astimezone(zone)
    day = local.date() + datetime.timedelta(days=(track.weekday - local.weekday()) % 7)
    slots: list[datetime.datetime] = []
    while len(slots) < weeks:
        start = datetime.datetime.combine(day, track.local_time, tzinfo=zone)
        if start > after:
            slots.append(start)
        day += datetime.timedelta(days=7)
    return slots


def is_on_slot(*, track: Track, start: datetime.datetime) -> bool:
    local = start.astimezone(zoneinfo.ZoneInfo(track.time_zone))
    return local.weekday() == track.weekday and local.time() == track.local_time


def slot_of_week(*, track: Track, week: datetime.date) -> datetime.datetime | None:
    """The track's slot in the week of `week` (any day of it), or None for a date the forms
    refuse (year 1, 9999) that older data may hold."""
    zone = zoneinfo.ZoneInfo(track.time_zone)
    try:
        after = datetime.datetime.combine(monday_of(week), datetime.time.min, zone)
        return track_slots(track=track, after=after - datetime.timedelta(seconds=1), weeks=1)[0]
    except (OverflowError, IndexError):
        return None

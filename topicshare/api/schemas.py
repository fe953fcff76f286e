"""What /api/v1/ answers, as pydantic schemas: the OpenAPI document is generated from these."""

import datetime

from ninja import Schema


class Error(Schema):
    """Every refusal: a stable code for programs, a message in the caller's language."""

    code: str
    message: str
    errors: dict[str, list[str]] | None = None


class Track(Schema):
    slug: str
    name_zh: str
    name_en: str
    weekday: int
    local_time: str
    time_zone: str
    duration_minutes: int


class Season(Schema):
    id: int
    label: str
    start_date: datetime.date | None
    end_date: datetime.date | None
    is_current: bool


class TopicRef(Schema):
    id: int
    title: str


class Topic(Schema):
    id: int
    url: str
    title: str
    track: str
    sub_theme: str
    season: str | None
    status: str
    proposer: str
    preferred_week: str | None
    participants: int
    capacity: int
    members_only: bool
    paper_links: list[str]
    created_at: str
    wanted: int


class Meeting(Schema):
    url: str
    id: str
    passcode: str


class Session(Schema):
    id: int
    url: str
    topic: TopicRef
    track: str
    start: str
    end: str
    duration_minutes: int
    status: str
    sequence: int
    presenters: list[str]
    rsvp_count: int
    meeting: Meeting | None = None


class LibraryItem(Schema):
    id: int
    url: str
    kind: str
    title: str
    season: str | None
    domain: str | None
    sub_theme: str
    presenters: list[str]
    tags: list[str]
    paper_url: str
    slides_url: str
    recording_url: str
    extraction_code: str
    source_url: str
    parent: int | None
    year: int | None
    upvotes: int | None
    visibility: str


class Project(Schema):
    id: int
    name: str
    url: str
    description: str
    maintainers: list[str]


class _Page(Schema):
    count: int
    next: str | None
    previous: str | None


class TrackPage(_Page):
    results: list[Track]


class SeasonPage(_Page):
    results: list[Season]


class TopicPage(_Page):
    results: list[Topic]


class SessionPage(_Page):
    results: list[Session]


class LibraryItemPage(_Page):
    results: list[LibraryItem]
    # The vocabulary's other names the search also searched for (none with literal=1).
    also_searched: list[str] = []


class ProjectPage(_Page):
    results: list[Project]

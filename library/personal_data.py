"""The library's part of a member's own data (members/personal_data.py): the talks I
presented (with their slides files), the projects I maintain, the tags I follow. On deletion
the talks and projects stay in the library under the neutral name; following tags ends."""

from library.models import LibraryItem, OpenSourceProject, Tag
from members.personal_data import Erasure, personal_data_register


def _library(user) -> dict:
    items = LibraryItem.objects.filter(presenters=user).select_related("season").order_by("pk")
    return {
        "talks_i_presented": [
            {
                "item": item.pk,
                "title": item.title,
                "kind": item.kind,
                "season": item.season.label if item.season else "",
                "slides": item.slides_name,
                "slides_link": item.slides_url,
                "recording_link": item.recording_url,
                "paper_link": item.paper_url,
            }
            for item in items
        ],  # fmt: skip
        "projects_i_maintain": [
            {"name": project.name, "address": project.url}
            for project in OpenSourceProject.objects.filter(maintainers=user).order_by("pk")
        ],
        "tags_i_follow": sorted(Tag.objects.filter(followers=user).values_list("name", flat=True)),
    }


def _slides(user):
    items = LibraryItem.objects.filter(presenters=user).exclude(slides_file="").order_by("pk")
    for item in items:
        name = item.slides_name or item.slides_file.name.rsplit("/", 1)[-1]
        yield f"{item.pk}-{name}", item.slides_file


def _library_erase(erasure: Erasure) -> None:
    """Following tags ends; the talks and projects stay, without the person's name,
    addresses or WeChat ID in their texts (a title, a summary, an author line), and the
    cached rows of the talks are rendered again (they show the presenters' names)."""
    Tag.followers.through.objects.filter(user=erasure.user).delete()
    talks = LibraryItem.objects.filter(presenters=erasure.user)
    erasure.scrub_rows(talks)
    # The library's rows are cached by their updated_at (library.views.attach_rows_html):
    # without this, the list kept showing the person's name for a day.
    LibraryItem.objects.filter(pk__in=talks.values("pk")).update(updated_at=erasure.now)
    erasure.scrub_rows(OpenSourceProject.objects.filter(maintainers=erasure.user))


personal_data_register(
    section="library",
    covers=(
        "library.LibraryItem_presenters.user",
        "library.OpenSourceProject_maintainers.user",
        "library.Tag_followers.user",
    ),
    export=_library,
    files=_slides,
    erase=_library_erase,
)

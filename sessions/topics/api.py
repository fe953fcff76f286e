"""Read-only JSON of the sheet and of the weekly sessions: public fields only, filtered,
paginated."""

from django.urls import reverse
from django.views.decorators.http import require_GET

from sessions.topics.selectors import topic_list
from topicshare.core.api import filtered_json_page


def topic_json(topic) -> dict:
    return {
        "id": topic.pk,
        "url": reverse("topics:detail", args=[topic.pk]),
        "title": topic.title,
        "track": topic.track.slug,
        "sub_theme": topic.sub_theme,
        "season": topic.season.label if topic.season else None,
        "status": topic.status,
        "proposer": topic.proposer.name,
        "preferred_week": topic.preferred_week.isoformat() if topic.preferred_week else None,
        "participants": topic.participant_count,
        "capacity": topic.capacity,
        "members_only": topic.members_only,
        "paper_links": topic.paper_links,
        "created_at": topic.created_at.isoformat(),
    }


@require_GET
def topics_api(request):
    filterset, queryset = topic_list(filters=request.GET)
    return filtered_json_page(request, filterset, queryset, topic_json)

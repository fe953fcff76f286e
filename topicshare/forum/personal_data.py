"""The forum's part of a member's own data (members/personal_data.py): the study group
checklist's rows about me, my official-account drafts, my deletion requests. All kept on
deletion, under the neutral name (the checklist still tells organisers to remove the person
from the WeChat group)."""

from members.personal_data import local, personal_data_register
from topicshare.forum.models import AccountDeletion, GroupChange


def _study_group(user) -> list[dict]:
    return [
        {"change": change.change, "reason": change.reason, "since": local(change.created_at),
         "done": local(change.done_at)}
        for change in GroupChange.objects.filter(user=user).order_by("pk")
    ]  # fmt: skip


def _deletions(user) -> list[dict]:
    return [
        {"requested": local(request.requested_at), "confirmed": local(request.confirmed_at),
         "done": local(request.done_at)}
        for request in AccountDeletion.objects.filter(user=user).order_by("pk")
    ]  # fmt: skip


personal_data_register(
    section="study_group_changes",
    covers=(
        "forum.GroupChange.user",
        "forum.GroupChange.done_by",
        "forum.OfficialAccountDraft.saved_by",
    ),
    export=_study_group,
)
personal_data_register(
    section="account_deletion_requests",
    covers=("forum.AccountDeletion.user",),
    export=_deletions,
)

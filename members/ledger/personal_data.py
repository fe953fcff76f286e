"""The season ledger's part of a member's own data (members/personal_data.py): exemptions
and my requests for one. On deletion my requests go (a granted one is an exemption, which
stays), and my name and addresses in the meeting participant lists organisers uploaded are
replaced by the neutral name (the lists are kept: they count everyone's attendance)."""

from members.ledger.models import AttendanceImport, ExemptionRequest, LedgerExemption
from members.personal_data import Erasure, local, personal_data_register


def _ledger(user) -> dict:
    exemptions = LedgerExemption.objects.filter(user=user).select_related("season")
    requests = ExemptionRequest.objects.filter(user=user).select_related("season")
    return {
        "exemptions": [
            {
                "season": e.season.label if e.season else "",
                "reason": e.reason,
                "since": local(e.created_at),
            }
            for e in exemptions.order_by("pk")
        ],  # fmt: skip
        "exemption_requests": [
            {
                "season": r.season.label,
                "reason": r.reason,
                "asked": local(r.created_at),
                "answered": local(r.answered_at),
                "granted": r.granted,
            }
            for r in requests.order_by("pk")
        ],  # fmt: skip
    }


def _ledger_erase(erasure: Erasure) -> None:
    ExemptionRequest.objects.filter(user=erasure.user).delete()
    if not erasure.old_strings:
        return
    for upload in AttendanceImport.objects.all().iterator():
        table, picks = erasure.scrub_json(upload.table), erasure.scrub_json(upload.picks)
        if (table, picks) != (upload.table, upload.picks):
            AttendanceImport.objects.filter(pk=upload.pk).update(table=table, picks=picks)


personal_data_register(
    section="season_ledger",
    covers=(
        "ledger.LedgerExemption.user",
        "ledger.LedgerExemption.by",
        "ledger.ExemptionRequest.user",
        "ledger.ExemptionRequest.answered_by",
        "ledger.AttendanceImport.uploaded_by",
    ),
    export=_ledger,
    erase=_ledger_erase,
)

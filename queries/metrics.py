"""The metrics document of DATA_CONTRACT.md, assembled from the query functions that also feed the pages."""

from __future__ import annotations

from sqlalchemy import Connection, Engine

from queries.filters import MetricFilter, Scope
from queries.interventions import intervention_totals, interventions_by_municipality, interventions_by_week
from queries.outreach import outreach_summary


def metrics_document(bind: Engine | Connection, flt: MetricFilter, scope: Scope) -> dict:
    """The JSON object printed by `metrics --json`, for one filter and scope."""
    totals = intervention_totals(bind, flt, scope)
    by_municipality = interventions_by_municipality(bind, flt, scope)
    by_week = interventions_by_week(bind, flt, scope)
    outreach = outreach_summary(bind, flt, scope)
    return {
        "from": flt.period.start.isoformat(),
        "to": flt.period.end.isoformat(),
        "scope": {
            "service": flt.services[0] if len(flt.services) == 1 else None,
            "municipality": flt.municipalities[0] if len(flt.municipalities) == 1 else None,
        },
        "interventions": {
            "total": totals.total,
            "arrests": totals.arrests,
            "repeat": totals.repeat,
            "by_municipality": {
                str(code): int(count) for code, count in zip(by_municipality["code"], by_municipality["interventions"])
            },
            "by_week": {str(week): int(count) for week, count in zip(by_week["week"], by_week["interventions"])},
        },
        "outreach": {
            "cohort": outreach.cohort,
            "attempted": outreach.attempted,
            "reached": outreach.reached,
            "accepted": outreach.accepted,
            "already_in_help": outreach.already_in_help,
            "reach_rate": outreach.reach_rate,
            "acceptance_rate": outreach.acceptance_rate,
            "median_hours_to_first_attempt": outreach.median_hours_to_first_attempt,
            "within_24h_share": outreach.within_24h_share,
            "within_48h_share": outreach.within_48h_share,
        },
    }

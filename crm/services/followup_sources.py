"""What a generated follow-up comes from: one function per kind gives its column values, key included.

Every generated follow-up carries its source in real columns (`plan_item_id`, `plan_id`, `occurs_on`,
`flag_id`, `visit_id`, `complaint_id`, `complaint_event_id`, `sample_year`, `self_registration_id`) and every
query reads those.
The `source_key` string stays, built only here, as the opaque exactly-once key: the unique
(source, source_key) constraint is what lets a retry, an overlapping run or a second process insert the
same follow-up without a twin (`followups.create`, `followups.insert_ignoring_twins`). One constraint
covers every kind and keeps one ON CONFLICT target on SQLite and PostgreSQL alike, where per-kind
unique indexes on nullable columns would need one conflict target per kind. Nothing parses a key.
"""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from crm.models import FollowUpSource

PLAN, FLAG, VISIT = FollowUpSource.PLAN.value, FollowUpSource.FLAG.value, FollowUpSource.VISIT.value
COMPLAINT, CALLBACK = FollowUpSource.COMPLAINT.value, FollowUpSource.CALLBACK.value
QR = FollowUpSource.QR.value


def plan_item(item_id: int, plan_id: int, occurs_on: date) -> dict:
    """One occurrence of a plan item."""
    return {"source": PLAN, "source_key": f"plan-item:{item_id}:{occurs_on.isoformat()}",
            "plan_item_id": item_id, "plan_id": plan_id, "occurs_on": occurs_on}


def plan_review(plan_id: int, review_on: date) -> dict:
    """The reminder of a plan's review date (a new review date gets a new reminder)."""
    return {"source": PLAN, "source_key": f"plan-review:{plan_id}:{review_on.isoformat()}",
            "plan_id": plan_id, "occurs_on": review_on}


def flag(flag_id: int) -> dict:
    """The follow-up of a raised dormant or at-risk flag."""
    return {"source": FLAG, "source_key": f"flag:{flag_id}", "flag_id": flag_id}


def flag_columns(flag_id: sa.ColumnElement[int]) -> dict[str, sa.ColumnElement]:
    """`flag` for a set-based INSERT ... SELECT, as SQL over a flag id column (the scan's raised flags).

    The constants are written into the SQL, not bound, so PostgreSQL types the concatenation as text.
    """
    return {"source": sa.literal_column(f"'{FLAG}'", sa.String),
            "source_key": sa.literal_column("'flag:'", sa.String) + sa.cast(flag_id, sa.String),
            "flag_id": flag_id}


def visit(visit_id: int) -> dict:
    """A visit's next contact."""
    return {"source": VISIT, "source_key": f"visit:{visit_id}", "visit_id": visit_id}


def new_account(client_id: int) -> dict:
    """The call-back after account opening (the client is the follow-up's own)."""
    return {"source": CALLBACK, "source_key": f"new-account:{client_id}"}


def callback_sample(year: int, client_id: int) -> dict:
    """The yearly call-back sample's follow-up for one chosen client."""
    return {"source": CALLBACK, "source_key": f"callback-sample:{year}:{client_id}", "sample_year": year}


def complaint_ack(complaint_id: int) -> dict:
    """The first handler's follow-up due at the acknowledgement deadline."""
    return {"source": COMPLAINT, "source_key": f"complaint:{complaint_id}:ack", "complaint_id": complaint_id}


def complaint_resolve(complaint_id: int, event_id: int) -> dict:
    """A later handler's follow-up until the complaint closes, from the event that handed it over."""
    return {"source": COMPLAINT, "source_key": f"complaint:{complaint_id}:resolve:{event_id}",
            "complaint_id": complaint_id, "complaint_event_id": event_id}


def self_registration(registration_id: int) -> dict:
    """The card manager's call to a visitor who registered through a QR card."""
    return {"source": QR, "source_key": f"qr:{registration_id}", "self_registration_id": registration_id}

"""Investor suitability (投资者适当性): questionnaire scoring, assessment expiry and the C/R match."""
from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

__all__ = [
    "INVESTOR_TYPES",
    "MATCH",
    "MISMATCH",
    "FORBIDDEN",
    "REASON_CODES",
    "level_label",
    "risk_label",
    "level_for_score",
    "ScoredAnswers",
    "score_answers",
    "expiry",
    "AssessmentFacts",
    "Reason",
    "Decision",
    "decide",
]

INVESTOR_TYPES: tuple[str, ...] = ("ordinary", "professional")

MATCH = "match"
MISMATCH = "mismatch"
FORBIDDEN = "forbidden"

REASON_CODES: tuple[str, ...] = (
    "product.inactive",
    "investor.professional",
    "assessment.missing",
    "assessment.expired",
    "lowest_category.above_r1",
    "level.covers_risk",
    "level.below_risk",
)


def _check_scale(value: int, name: str) -> int:
    # bool is an int subclass, and True would otherwise pass as C1/R1.
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
        raise ValueError(f"{name} must be an int from 1 to 5, not {value!r}")
    return value


def level_label(level: int) -> str:
    """Return the label of a risk tolerance level: 1 -> "C1"."""
    return f"C{_check_scale(level, 'level')}"


def risk_label(risk: int) -> str:
    """Return the label of a product risk rating: 3 -> "R3"."""
    return f"R{_check_scale(risk, 'risk')}"


def _check_bands(bands: tuple[int, int, int, int]) -> None:
    values = tuple(bands)
    if len(values) != 4 or any(isinstance(b, bool) or not isinstance(b, int) for b in values):
        raise ValueError(f"bands must be four ints (minimum scores of C2..C5), not {bands!r}")
    if any(low >= high for low, high in zip(values, values[1:])):
        raise ValueError(f"bands must be strictly increasing, not {bands!r}")


def level_for_score(score: int, bands: tuple[int, int, int, int]) -> int:
    """Return the level 1..5 of a total score; each band's minimum belongs to the higher level."""
    _check_bands(bands)
    return 1 + sum(1 for minimum in bands if score >= minimum)


@dataclass(frozen=True)
class ScoredAnswers:
    """The outcome of a completed questionnaire."""

    score: int
    level: int
    lowest_category: bool


def score_answers(chosen: Iterable[tuple[int, bool]], bands: tuple[int, int, int, int]) -> ScoredAnswers:
    """Score the chosen options given as (score, lowest_category flag) pairs."""
    total = 0
    lowest = False
    for score, flag in chosen:
        total += score
        lowest = lowest or bool(flag)
    level = level_for_score(total, bands)
    # One disqualifying answer (no full civil capacity, accepts no loss at all)
    # puts the investor in the lowest category whatever the total says.
    return ScoredAnswers(score=total, level=1 if lowest else level, lowest_category=lowest)


def expiry(assessed_at: datetime, months: int) -> datetime:
    """Add calendar months, clamping the day to the month's end; time and tzinfo are kept."""
    if isinstance(months, bool) or not isinstance(months, int) or months < 1:
        raise ValueError(f"months must be a positive int, not {months!r}")
    year, month_index = divmod(assessed_at.month - 1 + months, 12)
    year += assessed_at.year
    month = month_index + 1
    day = min(assessed_at.day, calendar.monthrange(year, month)[1])
    return assessed_at.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class AssessmentFacts:
    """What the match needs from the client's latest assessment."""

    level: int
    lowest_category: bool
    expires_at: datetime


@dataclass(frozen=True)
class Reason:
    """A machine code for the UI to translate, with its parameters as (name, value) pairs."""

    code: str
    params: tuple[tuple[str, str], ...] = ()

    def as_dict(self) -> dict[str, str]:
        """Return the parameters as a dict, e.g. for string interpolation."""
        return dict(self.params)


@dataclass(frozen=True)
class Decision:
    """The suitability opinion: "match", "mismatch" (warning + confirmation) or "forbidden"."""

    outcome: str
    reasons: tuple[Reason, ...]

    @property
    def codes(self) -> tuple[str, ...]:
        """Return the reason codes in order."""
        return tuple(reason.code for reason in self.reasons)


def decide(investor_type: str, assessment: AssessmentFacts | None, product_risk: int,
           product_active: bool, now: datetime) -> Decision:
    """Decide whether a product may be recommended to an investor, and why."""
    if investor_type not in INVESTOR_TYPES:
        raise ValueError(f"unknown investor type {investor_type!r}")
    risk = risk_label(product_risk)
    if assessment is not None:
        _check_scale(assessment.level, "level")
    blocked: list[Reason] = []
    if not product_active:
        blocked.append(Reason("product.inactive"))

    if investor_type == "professional":
        # Professional investors are outside the C/R matching; no assessment is needed.
        if blocked:
            return Decision(FORBIDDEN, tuple(blocked))
        return Decision(MATCH, (Reason("investor.professional"),))

    if assessment is None:
        blocked.append(Reason("assessment.missing"))
        return Decision(FORBIDDEN, tuple(blocked))
    if assessment.expires_at <= now:
        blocked.append(Reason("assessment.expired", (("expired_on", assessment.expires_at.date().isoformat()),)))
    # Checked on the flag, not the level: the lowest category may never go
    # above R1, not even with the client's confirmation.
    if assessment.lowest_category and product_risk > 1:
        blocked.append(Reason("lowest_category.above_r1", (("product_risk", risk),)))
    if blocked:
        return Decision(FORBIDDEN, tuple(blocked))

    params = (("level", level_label(assessment.level)), ("risk", risk))
    if assessment.level >= product_risk:
        return Decision(MATCH, (Reason("level.covers_risk", params),))
    return Decision(MISMATCH, (Reason("level.below_risk", params),))

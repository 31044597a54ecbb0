"""Table-driven tests for questionnaire scoring, assessment expiry and the suitability match."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from crm.domain.suitability import (
    REASON_CODES,
    AssessmentFacts,
    Decision,
    Reason,
    ScoredAnswers,
    decide,
    expiry,
    level_for_score,
    level_label,
    risk_label,
    score_answers,
)

BANDS = (20, 37, 54, 71)
NOW = datetime(2024, 6, 1, 9, 30, tzinfo=timezone.utc)
VALID_UNTIL = NOW + timedelta(days=365)
LEVELS = range(1, 6)
RISKS = range(1, 6)


def facts(level: int = 3, lowest: bool = False, expires_at: datetime = VALID_UNTIL) -> AssessmentFacts:
    return AssessmentFacts(level=level, lowest_category=lowest, expires_at=expires_at)


# ---------------------------------------------------------------- labels

@pytest.mark.parametrize(("value", "level", "risk"), [(n, f"C{n}", f"R{n}") for n in range(1, 6)])
def test_labels_prefix_the_number_with_c_for_levels_and_r_for_risks(value: int, level: str, risk: str) -> None:
    assert level_label(value) == level
    assert risk_label(value) == risk


@pytest.mark.parametrize("value", [0, 6, -1, True, "3", 3.0])
def test_labels_reject_values_outside_one_to_five(value: object) -> None:
    with pytest.raises(ValueError):
        level_label(value)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        risk_label(value)  # type: ignore[arg-type]


# ---------------------------------------------------------------- level_for_score

@pytest.mark.parametrize(("score", "level"), [
    (0, 1),
    (19, 1), (20, 2), (21, 2),
    (36, 2), (37, 3), (38, 3),
    (53, 3), (54, 4), (55, 4),
    (70, 4), (71, 5), (72, 5),
    (10**9, 5),
    (-5, 1),
])
def test_level_for_score_gives_each_band_minimum_to_the_higher_level(score: int, level: int) -> None:
    assert level_for_score(score, BANDS) == level


@pytest.mark.parametrize("bands", [
    (20, 20, 54, 71),
    (20, 37, 30, 71),
    (71, 54, 37, 20),
    (20, 37, 54),
    (20, 37, 54, 71, 90),
    (20, 37, 54, "71"),
])
def test_level_for_score_rejects_bands_that_are_not_four_strictly_increasing_ints(bands: tuple) -> None:
    with pytest.raises(ValueError):
        level_for_score(40, bands)  # type: ignore[arg-type]


# ---------------------------------------------------------------- score_answers

@pytest.mark.parametrize(("chosen", "expected"), [
    ([], ScoredAnswers(0, 1, False)),
    ([(5, False), (5, False), (10, False)], ScoredAnswers(20, 2, False)),
    ([(30, False), (41, False)], ScoredAnswers(71, 5, False)),
    ([(30, False), (41, False), (0, True)], ScoredAnswers(71, 1, True)),
    ([(1, True)], ScoredAnswers(1, 1, True)),
    ([(40, True), (40, True)], ScoredAnswers(80, 1, True)),
])
def test_score_answers_sums_scores_and_any_lowest_flag_forces_c1(chosen: list, expected: ScoredAnswers) -> None:
    assert score_answers(chosen, BANDS) == expected


def test_score_answers_accepts_any_iterable_of_pairs() -> None:
    assert score_answers(iter([(10, False), (10, False)]), BANDS) == ScoredAnswers(20, 2, False)


# ---------------------------------------------------------------- expiry

@pytest.mark.parametrize(("assessed", "months", "expires"), [
    (datetime(2024, 1, 31), 1, datetime(2024, 2, 29)),
    (datetime(2023, 1, 31), 1, datetime(2023, 2, 28)),
    (datetime(2024, 2, 29), 12, datetime(2025, 2, 28)),
    (datetime(2024, 2, 29), 48, datetime(2028, 2, 29)),
    (datetime(2024, 3, 31), 1, datetime(2024, 4, 30)),
    (datetime(2024, 8, 31), 1, datetime(2024, 9, 30)),
    (datetime(2024, 1, 15), 1, datetime(2024, 2, 15)),
    (datetime(2024, 11, 30), 2, datetime(2025, 1, 30)),
    (datetime(2024, 12, 31), 1, datetime(2025, 1, 31)),
    (datetime(2024, 6, 1), 24, datetime(2026, 6, 1)),
    (datetime(2024, 12, 31), 14, datetime(2026, 2, 28)),
    (datetime(1999, 5, 31), 60, datetime(2004, 5, 31)),
])
def test_expiry_adds_calendar_months_clamping_to_the_month_end(assessed: datetime, months: int,
                                                               expires: datetime) -> None:
    assert expiry(assessed, months) == expires


@pytest.mark.parametrize("tz", [timezone.utc, ZoneInfo("Asia/Shanghai"), None])
def test_expiry_keeps_time_of_day_and_tzinfo(tz: timezone | ZoneInfo | None) -> None:
    assessed = datetime(2024, 1, 31, 23, 59, 58, 123456, tzinfo=tz)
    expires = expiry(assessed, 1)
    assert expires == datetime(2024, 2, 29, 23, 59, 58, 123456, tzinfo=tz)
    assert expires.tzinfo is tz


@pytest.mark.parametrize("months", [0, -1, True, 1.5])
def test_expiry_rejects_a_period_that_is_not_a_positive_int(months: object) -> None:
    with pytest.raises(ValueError):
        expiry(NOW, months)  # type: ignore[arg-type]


# ---------------------------------------------------------------- decide: the C/R matrix

ORDINARY_MATRIX = [(level, risk) for level in LEVELS for risk in RISKS]


@pytest.mark.parametrize(("level", "risk"), ORDINARY_MATRIX)
def test_ordinary_investor_matches_iff_level_covers_risk_else_mismatch(level: int, risk: int) -> None:
    decision = decide("ordinary", facts(level), risk, True, NOW)
    params = (("level", f"C{level}"), ("risk", f"R{risk}"))
    if level >= risk:
        assert decision == Decision("match", (Reason("level.covers_risk", params),))
    else:
        assert decision == Decision("mismatch", (Reason("level.below_risk", params),))


@pytest.mark.parametrize(("level", "risk"), ORDINARY_MATRIX)
def test_professional_investor_always_matches_an_active_product(level: int, risk: int) -> None:
    decision = decide("professional", facts(level), risk, True, NOW)
    assert decision == Decision("match", (Reason("investor.professional"),))


@pytest.mark.parametrize("assessment", [None, facts(1, expires_at=NOW - timedelta(days=1)), facts(1, lowest=True)])
def test_professional_investor_needs_no_valid_assessment(assessment: AssessmentFacts | None) -> None:
    assert decide("professional", assessment, 5, True, NOW).outcome == "match"


# ---------------------------------------------------------------- decide: lowest category

@pytest.mark.parametrize(("risk", "outcome"), [(1, "match"), (2, "forbidden"), (3, "forbidden"),
                                               (4, "forbidden"), (5, "forbidden")])
def test_lowest_category_is_only_ever_matched_with_r1(risk: int, outcome: str) -> None:
    decision = decide("ordinary", facts(1, lowest=True), risk, True, NOW)
    assert decision.outcome == outcome
    if outcome == "forbidden":
        assert decision.reasons == (Reason("lowest_category.above_r1", (("product_risk", f"R{risk}"),)),)


@pytest.mark.parametrize("level", [2, 5])
def test_lowest_category_flag_forbids_above_r1_whatever_the_stored_level(level: int) -> None:
    assert decide("ordinary", facts(level, lowest=True), 2, True, NOW).outcome == "forbidden"


# ---------------------------------------------------------------- decide: missing and expired

def test_ordinary_investor_without_assessment_is_forbidden() -> None:
    assert decide("ordinary", None, 1, True, NOW) == Decision("forbidden", (Reason("assessment.missing"),))


@pytest.mark.parametrize(("expires_at", "outcome"), [
    (NOW, "forbidden"),
    (NOW - timedelta(seconds=1), "forbidden"),
    (NOW - timedelta(days=400), "forbidden"),
    (NOW + timedelta(seconds=1), "match"),
    (NOW + timedelta(microseconds=1), "match"),
])
def test_assessment_is_expired_from_the_exact_expiry_moment(expires_at: datetime, outcome: str) -> None:
    assert decide("ordinary", facts(3, expires_at=expires_at), 1, True, NOW).outcome == outcome


def test_expired_reason_carries_the_iso_expiry_date() -> None:
    decision = decide("ordinary", facts(3, expires_at=datetime(2024, 5, 31, 16, 0, tzinfo=timezone.utc)),
                      1, True, NOW)
    assert decision.reasons == (Reason("assessment.expired", (("expired_on", "2024-05-31"),)),)
    assert decision.reasons[0].as_dict() == {"expired_on": "2024-05-31"}


def test_expiry_moment_compares_across_time_zones() -> None:
    same_instant = NOW.astimezone(ZoneInfo("Asia/Shanghai"))
    assert decide("ordinary", facts(3, expires_at=same_instant), 1, True, NOW).outcome == "forbidden"


# ---------------------------------------------------------------- decide: inactive products, several reasons

@pytest.mark.parametrize(("investor_type", "assessment"), [
    ("ordinary", facts(5)),
    ("professional", facts(5)),
    ("professional", None),
])
def test_inactive_product_is_forbidden_for_every_investor_type(investor_type: str,
                                                               assessment: AssessmentFacts | None) -> None:
    decision = decide(investor_type, assessment, 1, False, NOW)
    assert decision == Decision("forbidden", (Reason("product.inactive"),))


@pytest.mark.parametrize(("assessment", "risk", "codes"), [
    (facts(5, expires_at=NOW), 1, ("product.inactive", "assessment.expired")),
    (None, 3, ("product.inactive", "assessment.missing")),
    (facts(1, lowest=True, expires_at=NOW), 2,
     ("product.inactive", "assessment.expired", "lowest_category.above_r1")),
])
def test_forbidden_collects_every_applicable_reason(assessment: AssessmentFacts | None, risk: int,
                                                    codes: tuple[str, ...]) -> None:
    decision = decide("ordinary", assessment, risk, False, NOW)
    assert decision.outcome == "forbidden"
    assert decision.codes == codes


def test_expired_lowest_category_reports_both_reasons_on_an_active_product() -> None:
    decision = decide("ordinary", facts(1, lowest=True, expires_at=NOW), 4, True, NOW)
    assert decision.codes == ("assessment.expired", "lowest_category.above_r1")


# ---------------------------------------------------------------- decide: bad input

@pytest.mark.parametrize(("investor_type", "assessment", "risk"), [
    ("retail", facts(3), 3),
    ("", facts(3), 3),
    ("Ordinary", facts(3), 3),
    ("ordinary", facts(3), 0),
    ("ordinary", facts(3), 6),
    ("professional", None, 6),
    ("ordinary", facts(0), 3),
    ("ordinary", facts(6), 3),
    ("professional", facts(9), 3),
    ("ordinary", None, True),
])
def test_decide_rejects_unknown_investor_types_and_out_of_range_levels_or_risks(
        investor_type: str, assessment: AssessmentFacts | None, risk: int) -> None:
    with pytest.raises(ValueError):
        decide(investor_type, assessment, risk, True, NOW)


# ---------------------------------------------------------------- reason codes

def _every_decision() -> list[Decision]:
    assessments = [None] + [facts(level, lowest, expires) for level in LEVELS for lowest in (False, True)
                            for expires in (NOW, VALID_UNTIL)]
    return [decide(kind, assessment, risk, active, NOW)
            for kind in ("ordinary", "professional") for assessment in assessments
            for risk in RISKS for active in (True, False)]


def test_every_emitted_reason_code_is_listed_and_every_listed_code_is_emitted() -> None:
    emitted = {reason.code for decision in _every_decision() for reason in decision.reasons}
    assert emitted == set(REASON_CODES)
    assert len(REASON_CODES) == len(set(REASON_CODES))


def test_every_decision_has_a_known_outcome_and_at_least_one_reason() -> None:
    for decision in _every_decision():
        assert decision.outcome in ("match", "mismatch", "forbidden")
        assert decision.reasons


def test_reasons_and_decisions_are_hashable_values() -> None:
    reason = Reason("level.below_risk", (("level", "C2"), ("risk", "R4")))
    assert {reason, Reason("level.below_risk", (("level", "C2"), ("risk", "R4")))} == {reason}
    assert hash(Decision("mismatch", (reason,)))
    assert reason.as_dict() == {"level": "C2", "risk": "R4"}
    assert Reason("assessment.missing").as_dict() == {}

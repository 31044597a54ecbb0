"""Personalized-service plans: templates by tier, occurrences → follow-ups exactly once, progress, access."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crm.domain.formats import _id_check_char
from crm.domain.refusals import Conflict, RuleError
from crm.extensions import db
from crm.models import (
    AuditEvent,
    FollowUp,
    JobRun,
    NeedsProfile,
    PlanItem,
    PlanTemplate,
    Product,
    ServicePlan,
    Tier,
    utcnow,
)
from crm.services import followups, plans
from crm.services import settings as app_settings
from tests.factories import make_client, make_visit

SHANGHAI = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parent.parent
# Sunday 2026-09-20, 10:00 in Shanghai: Mid-Autumn (25 Sep) is inside the 7-day lead, National Day is not.
SEP20 = datetime(2026, 9, 20, 10, 0, tzinfo=SHANGHAI)


def id_number(birthday: date, sequence: str = "123") -> str:
    """A valid Resident ID number for a Beijing birth on `birthday`."""
    first17 = f"110105{birthday:%Y%m%d}{sequence}"
    return first17 + _id_check_char(first17)


def tier(name: str) -> Tier:
    return db.session.execute(sa.select(Tier).where(Tier.name == name)).scalar_one()


def plan_keys(client) -> list[str]:
    return sorted(db.session.execute(sa.select(FollowUp.source_key).where(
        FollowUp.client_id == client.id, FollowUp.source == "plan")).scalars())


def item_of(plan, kind: str, cadence: str | None = None) -> PlanItem:
    return next(i for i in plan.items if i.kind == kind and (cadence is None or i.cadence == cadence))


@pytest.fixture
def gold(world):
    """A 金卡 client of manager1 born on 22 September (the ID number says so)."""
    client = make_client(world.manager1, name="金卡客户", id_number=id_number(date(1970, 9, 22)))
    client.tier_id = tier("金卡").id
    db.session.commit()
    return client


def start(client, actor, now=SEP20, template=None, goals=""):
    started = plans.start_plan(client, actor, template or plans.template_for(client), goals, now=now)
    db.session.commit()
    return started.plan


# ---------------------------------------------------------------- starting from a template

def test_a_plan_starts_from_the_tier_template_and_creates_the_first_week_of_follow_ups(world, gold):
    plan = start(gold, world.manager1)
    assert plan.template.name == "金卡客户服务计划"
    assert plan.goals == plan.template.goals
    assert plan.started_on == date(2026, 9, 20)
    assert plan.review_on == date(2027, 3, 20)  # the template reviews after 6 months
    assert [i.kind for i in plan.items] == ["review_call", "research_push", "portfolio_review", "seminar",
                                            "care", "care"]
    assert item_of(plan, "seminar").starts_on == date(2026, 10, 11)  # 21 days after the start
    review, push = item_of(plan, "review_call"), item_of(plan, "research_push")
    birthday, holidays = item_of(plan, "care", "birthday"), item_of(plan, "care", "holidays")
    # Within 7 days: the first review call (today), the weekly push (3 days in), the birthday, Mid-Autumn.
    assert plan_keys(gold) == sorted([
        f"plan-item:{review.id}:2026-09-20", f"plan-item:{push.id}:2026-09-23",
        f"plan-item:{birthday.id}:2026-09-22", f"plan-item:{holidays.id}:2026-09-25"])
    # The same occurrences, read from the columns every query uses.
    assert sorted(db.session.execute(sa.select(FollowUp.plan_item_id, FollowUp.plan_id, FollowUp.occurs_on).where(
        FollowUp.client_id == gold.id, FollowUp.source == "plan")).all()) == sorted([
        (review.id, plan.id, date(2026, 9, 20)), (push.id, plan.id, date(2026, 9, 23)),
        (birthday.id, plan.id, date(2026, 9, 22)), (holidays.id, plan.id, date(2026, 9, 25))])
    first = db.session.execute(sa.select(FollowUp).where(FollowUp.source_key == f"plan-item:{review.id}:2026-09-20")
                               ).scalar_one()
    assert (first.assignee_id, first.kind, first.status) == (world.manager1.id, "plan_item", "open")
    assert first.due_at.astimezone(SHANGHAI) == datetime(2026, 9, 20, 9, 0, tzinfo=SHANGHAI)
    assert first.title == "定期回访"
    care = db.session.execute(sa.select(FollowUp).where(FollowUp.source_key.endswith(":2026-09-25"))).scalar_one()
    assert care.title == "节日关怀：中秋节"
    birthday_care = db.session.execute(sa.select(FollowUp).where(FollowUp.source_key.endswith(":2026-09-22"))
                                       ).scalar_one()
    assert birthday_care.title == "生日关怀"
    # ...and it is on manager1's Today, today.
    view = followups.today_view(world.manager1, now=SEP20)
    assert [f.id for f in view.today] == [first.id]
    assert db.session.query(AuditEvent).filter_by(action="plan.start", object_id=gold.id).count() == 1


def test_a_client_without_a_tier_gets_the_first_template_in_use_or_one_for_any_tier(world):
    client = make_client(world.manager1)
    db.session.commit()
    assert plans.template_for(client) is None  # the shipped templates are all tied to a tier
    general = PlanTemplate(name="通用", tier_id=None, goals="", review_months=12, active=True)
    db.session.add(general)
    db.session.commit()
    assert plans.template_for(client).id == general.id
    client.tier_id = tier("钻石").id
    assert plans.template_for(client).name == "钻石客户服务计划"


def test_one_active_plan_per_client(world, gold):
    plan = start(gold, world.manager1)
    with pytest.raises(RuleError) as refused:
        plans.start_plan(gold, world.manager2, plans.template_for(gold), "", now=SEP20)
    assert refused.value.code == "plan.exists"
    db.session.rollback()
    cancelled = plans.end_plan(plan, world.manager1, "客户转为钻石", now=SEP20)
    db.session.commit()
    assert cancelled == 4
    assert db.session.query(FollowUp).filter_by(source="plan", status="open").count() == 0
    second = start(gold, world.manager1, now=SEP20 + timedelta(days=1), template=db.session.execute(
        sa.select(PlanTemplate).where(PlanTemplate.name == "钻石客户服务计划")).scalar_one())
    assert second.id != plan.id
    assert plans.past_plans(gold)[0].id == plan.id


# ---------------------------------------------------------------- generation, exactly once

def test_generation_is_idempotent_and_walks_forward_with_the_calendar(world, gold):
    plan = start(gold, world.manager1)
    first = plan_keys(gold)
    for _ in range(3):
        assert plans.generate(now=SEP20).created == 0
    assert plan_keys(gold) == first
    report = plans.generate(now=SEP20 + timedelta(days=7))  # sees up to 4 October
    push, portfolio = item_of(plan, "research_push"), item_of(plan, "portfolio_review")
    holidays = item_of(plan, "care", "holidays")
    assert report.created == 3
    assert set(plan_keys(gold)) - set(first) == {  # weekly push, National Day, the review 14 days in
        f"plan-item:{push.id}:2026-09-30", f"plan-item:{holidays.id}:2026-10-01",
        f"plan-item:{portfolio.id}:2026-10-04"}
    assert plans.generate(now=SEP20 + timedelta(days=7)).created == 0


def test_plan_follow_ups_come_in_the_morning_digest_not_one_email_each(app, world, gold):
    from crm.models import OutboxEmail
    from crm.services import digests, reminders

    start(gold, world.manager1)
    reminders.send_reminders(now=SEP20 + timedelta(days=8))
    assert db.session.query(OutboxEmail).count() == 0
    digests.send_digests(now=SEP20)
    digest = db.session.query(OutboxEmail).filter_by(to_address="m1@example.com").one()
    assert "金卡客户" in digest.text_body and "定期回访" in digest.text_body


def test_a_scheduler_that_was_down_catches_up_only_the_grace_period(world, gold):
    start(gold, world.manager1)
    app_settings.set_int("plan_grace_days", 3, world.admin)
    db.session.commit()
    before = set(plan_keys(gold))
    plans.generate(now=SEP20 + timedelta(days=60))  # window 16 Nov – 26 Nov
    new = set(plan_keys(gold)) - before
    days = sorted(key.rsplit(":", 1)[1] for key in new)
    assert days[0] >= "2026-11-16" and days[-1] <= "2026-11-26"


def test_the_lead_days_setting_moves_the_horizon(world, gold):
    app_settings.set_int("plan_lead_days", 0, world.admin)
    db.session.commit()
    plan = start(gold, world.manager1)
    assert plan_keys(gold) == [f"plan-item:{item_of(plan, 'review_call').id}:2026-09-20"]


def test_a_removed_item_stops_and_its_open_follow_ups_are_cancelled(world, gold):
    plan = start(gold, world.manager1)
    push = item_of(plan, "research_push")
    assert plans.remove_item(push, world.manager1) == 1
    db.session.commit()
    plans.generate(now=SEP20 + timedelta(days=14))
    assert not [k for k in plan_keys(gold) if k.startswith(f"plan-item:{push.id}:") and not k.endswith("09-23")]
    cancelled = db.session.query(FollowUp).filter(FollowUp.source_key.startswith(f"plan-item:{push.id}:")).one()
    assert cancelled.status == "cancelled"


def test_a_reassigned_client_s_next_occurrences_go_to_the_new_owner(world, gold):
    start(gold, world.manager1)
    gold.owner_id = world.manager2.id
    db.session.commit()
    plans.generate(now=SEP20 + timedelta(days=7))
    newest = db.session.query(FollowUp).filter(FollowUp.source_key.endswith(":2026-10-01")).one()
    assert newest.assignee_id == world.manager2.id


# ---------------------------------------------------------------- birthdays

def test_the_profile_birthday_wins_over_the_id_number(world, gold):
    db.session.add(NeedsProfile(client_id=gold.id, version=1, saved_by_id=world.manager1.id,
                                birthday=date(1970, 9, 24)))
    db.session.commit()
    assert plans.birthday_of(gold) == date(1970, 9, 24)
    plan = start(gold, world.manager1)
    assert f"plan-item:{item_of(plan, 'care', 'birthday').id}:2026-09-24" in plan_keys(gold)


def test_a_29_february_birthday_is_cared_for_on_28_february(world):
    client = make_client(world.manager1, name="闰日", id_number=id_number(date(1984, 2, 29)))
    client.tier_id = tier("银卡").id
    db.session.commit()
    plan = start(client, world.manager1, now=datetime(2027, 2, 22, 10, 0, tzinfo=SHANGHAI))
    birthday = item_of(plan, "care", "birthday")
    assert f"plan-item:{birthday.id}:2027-02-28" in plan_keys(client)
    plans.generate(now=datetime(2028, 2, 25, 10, 0, tzinfo=SHANGHAI))
    assert f"plan-item:{birthday.id}:2028-02-29" in plan_keys(client)


def test_a_birthday_entered_in_the_needs_profile(app, world, login):
    client = make_client(world.manager1, name="无证件")
    db.session.commit()
    c = login("manager1")
    bad = c.post(f"/clients/{client.id}/profile", data={"version": "0", "birthday": "1800-01-01"})
    assert bad.status_code == 422 and "请填写 1900 年至今天之间的生日" in bad.get_data(as_text=True)
    assert c.post(f"/clients/{client.id}/profile", data={"version": "0", "birthday": "1984-02-29"}).status_code == 303
    assert plans.birthday_of(client) == date(1984, 2, 29)
    assert "1984" in c.get(f"/clients/{client.id}/profile").get_data(as_text=True)


def test_a_birthday_item_needs_a_birthday(world):
    client = make_client(world.manager1, name="无生日")
    db.session.commit()
    plan = start(client, world.manager1, template=db.session.execute(
        sa.select(PlanTemplate).where(PlanTemplate.name == "普通客户服务计划")).scalar_one())
    with pytest.raises(RuleError) as refused:
        plans.add_item(plan, world.manager1, {"kind": "care", "cadence": "birthday"}, now=SEP20)
    assert (refused.value.code, refused.value.field) == ("plan.no_birthday", "cadence")


# ---------------------------------------------------------------- product recommendations

def product(code: str, risk: int) -> Product:
    found = Product(code=code, name=f"产品{code}", kind="fund", risk=risk, active=True)
    db.session.add(found)
    db.session.flush()
    return found


def test_a_product_item_goes_through_the_suitability_check(world, gold):
    gold.risk_level, gold.risk_expires_at = 3, utcnow() + timedelta(days=400)
    fits, too_risky = product("R2", 2), product("R5", 5)
    template = plans.template_for(gold)
    plans.add_template_item(template, world.admin, {"kind": "product", "cadence": "once", "product_id": fits.id})
    plans.add_template_item(template, world.admin, {"kind": "product", "cadence": "once",
                                                    "product_id": too_risky.id})
    db.session.commit()
    started = plans.start_plan(gold, world.manager1, template, "", now=SEP20)
    db.session.commit()
    assert [i.product_id for i in started.plan.items if i.kind == "product"] == [fits.id]
    assert [(s.product.id, s.decision.outcome) for s in started.skipped] == [(too_risky.id, "mismatch")]
    recommend = db.session.query(FollowUp).filter(FollowUp.title.contains("产品R2")).one()
    assert recommend.note == ""
    with pytest.raises(plans.ProductNotSuitable):
        plans.add_item(started.plan, world.manager1, {"kind": "product", "cadence": "once",
                                                      "product_id": too_risky.id}, now=SEP20)


def test_an_expired_assessment_is_noted_on_the_recommendation_follow_up(world, gold):
    gold.risk_level, gold.risk_expires_at = 3, SEP20 + timedelta(days=3)
    fits = product("R1", 1)
    plan = start(gold, world.manager1)
    plans.add_item(plan, world.manager1, {"kind": "product", "cadence": "months", "every": 1,
                                          "product_id": fits.id, "starts_on": date(2026, 9, 21)}, now=SEP20)
    db.session.commit()
    plans.generate(now=SEP20 + timedelta(days=30))  # after the assessment expired
    later = db.session.query(FollowUp).filter(FollowUp.title.contains("产品R1"),
                                              FollowUp.source_key.endswith("2026-10-21")).one()
    assert "适当性" in later.note


# ---------------------------------------------------------------- progress and review

def test_progress_counts_done_due_and_missed(world, gold):
    plan = start(gold, world.manager1)
    review = item_of(plan, "review_call")
    first = db.session.query(FollowUp).filter_by(source_key=f"plan-item:{review.id}:2026-09-20").one()
    followups.complete(first, make_visit(gold, world.manager1))
    db.session.commit()
    later = SEP20 + timedelta(days=20)  # 10 October
    for day in range(1, 21):  # the daily job
        plans.generate(now=SEP20 + timedelta(days=day))
    result = plans.progress(plan, now=later)
    by_item = {row.item.id: row for row in result.items}
    assert (by_item[review.id].done, by_item[review.id].due, by_item[review.id].missed) == (1, 0, 0)
    push = by_item[item_of(plan, "research_push").id]
    # Pushes on 23 and 30 Sep are more than 7 days old (missed); 7 and 14 Oct are due.
    assert (push.done, push.due, push.missed) == (0, 2, 2)
    assert push.next_on == date(2026, 10, 14)
    assert result.done == 1
    assert result.review_due is False


def test_the_review_date_brings_a_reminder_once_and_a_revised_date_another(world, gold):
    plan = start(gold, world.manager1)
    near_review = datetime(2027, 3, 15, 10, 0, tzinfo=SHANGHAI)  # review on 20 Mar, 7 days lead
    plans.generate(now=near_review)
    plans.generate(now=near_review)
    reminders = db.session.query(FollowUp).filter(FollowUp.source_key.startswith("plan-review:")).all()
    assert [(r.kind, r.due_at.astimezone(SHANGHAI).date()) for r in reminders] == [("review", date(2027, 3, 20))]
    assert [(r.source_key, r.plan_id, r.plan_item_id, r.occurs_on) for r in reminders] == [
        (f"plan-review:{plan.id}:2027-03-20", plan.id, None, date(2027, 3, 20))]
    plans.update_plan(plan, world.manager1, "新目标", date(2027, 9, 20), plan.version)
    db.session.commit()
    assert db.session.get(FollowUp, reminders[0].id).status == "done"  # revising was the review
    plans.generate(now=datetime(2027, 9, 14, 10, 0, tzinfo=SHANGHAI))
    assert db.session.query(FollowUp).filter(FollowUp.source_key.startswith("plan-review:")).count() == 2
    assert plans.progress(plan, now=datetime(2027, 9, 21, tzinfo=SHANGHAI)).review_due is True


def test_a_stale_revision_is_refused(world, gold):
    plan = start(gold, world.manager1)
    loaded = plan.version
    plans.update_plan(plan, world.manager2, "甲", date(2027, 1, 1), loaded)
    db.session.commit()
    with pytest.raises(Conflict):
        plans.update_plan(plan, world.manager1, "乙", date(2027, 2, 1), loaded)
    with pytest.raises(RuleError) as refused:
        plans.update_plan(plan, world.manager1, "乙", plan.started_on, plan.version)
    assert (refused.value.code, refused.value.field) == ("plan.review_on", "review_on")


# ---------------------------------------------------------------- the job and two processes

def test_the_daily_job_runs_once_a_day(app, world, gold, runner):
    start(gold, world.manager1)
    first = runner.invoke(args=["plan-followups", "--scheduled"])
    again = runner.invoke(args=["plan-followups", "--scheduled"])
    assert first.exit_code == 0 and "plans 1" in first.output
    assert "already run" in again.output
    assert db.session.query(JobRun).filter_by(job="plan-followups").count() == 1


def test_two_processes_generating_at_once_create_each_occurrence_once(app, world, database_url):
    """Two real `flask plan-followups --force` processes race over the same plans: no twin, no crash."""
    owners = [world.manager1, world.manager2]
    clients = []
    for i in range(40):
        client = make_client(owners[i % 2], name=f"客户{i}", id_number=id_number(date(1980, 1, 1) + timedelta(
            days=i * 9), sequence=f"{i:03d}"))
        client.tier_id = tier("钻石").id
        clients.append(client)
    db.session.commit()
    app_settings.set_int("plan_lead_days", 0, world.admin)  # starting creates only today's occurrences
    db.session.commit()
    for client in clients:
        start(client, client.owner, now=utcnow() - timedelta(days=1))
    app_settings.set_int("plan_lead_days", 60, world.admin)
    db.session.commit()
    before = db.session.query(FollowUp).filter_by(source="plan").count()
    env = {**os.environ, "CRM_DATABASE_URL": database_url, "CRM_SMTP_HOST": "", "PYTHONUNBUFFERED": "1"}
    flask = str(Path(sys.executable).parent / "flask")
    procs = [subprocess.Popen([flask, "--app", "wsgi", "plan-followups", "--force"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    created = [int(re.search(r"follow-ups created (\d+)", out).group(1)) for out in outputs]
    db.session.expire_all()
    after = db.session.query(FollowUp).filter_by(source="plan").count()
    # What one process alone would have created in the same window, computed from the schedules.
    expected = _expected_occurrences(clients) - before
    assert after - before == sum(created) == expected > 100, outputs
    keys = db.session.execute(sa.select(FollowUp.source_key).where(FollowUp.source == "plan")).scalars().all()
    assert len(keys) == len(set(keys))
    again = subprocess.run([flask, "--app", "wsgi", "plan-followups", "--force"], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=120)
    assert "follow-ups created 0" in again.stdout, again.stdout + again.stderr


def _expected_occurrences(clients) -> int:
    today = plans.local_today()
    total = 0
    for client in clients:
        plan = plans.active_plan(client)
        start_day = max(plan.started_on, today - timedelta(days=app_settings.get_int("plan_grace_days")))
        end_day = today + timedelta(days=60)
        birthday = plans.birthday_of(client)
        for item in plan.items:
            total += len(plans.cadence.occurrences(plans.schedule_of(item, birthday), start_day, end_day))
        total += plan.review_on - timedelta(days=60) <= today
    return total


# ---------------------------------------------------------------- pages

def test_the_plan_tab_starts_a_plan_once_even_on_a_double_tap(app, world, gold, login):
    c = login("manager1")
    page = c.get(f"/clients/{gold.id}/plan")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "开始执行计划" in html and "金卡客户服务计划" in html
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', html).group(1)
    template_id = plans.template_for(gold).id
    for _ in range(2):
        response = c.post(f"/clients/{gold.id}/plan", data={"token": token, "template_id": template_id})
        assert response.status_code == 303
    assert db.session.query(ServicePlan).filter_by(client_id=gold.id).count() == 1
    shown = c.get(f"/clients/{gold.id}/plan").get_data(as_text=True)
    assert "定期回访" in shown and "结束计划" in shown
    today = c.get("/today").get_data(as_text=True)
    assert "金卡客户" in today


def test_bad_item_input_re_renders_with_the_message_in_chinese(app, world, gold, login):
    start(gold, world.manager1, now=utcnow())
    c = login("manager1")
    cases = [
        ({"kind": "review_call", "cadence": "months", "every": ""}, "请填写间隔"),
        ({"kind": "care", "cadence": "holidays"}, "请至少选择一个节日"),
        ({"kind": "review_call", "cadence": "birthday"}, "生日和节日只能用于关怀"),
        ({"kind": "product", "cadence": "once"}, "请选择要推荐的产品"),
        ({"kind": "review_call", "cadence": "weeks", "every": "abc"}, "不是有效的整数"),
        ({"kind": "review_call", "cadence": "once", "starts_on": "20255-01-01"}, "日期"),
        ({"kind": "nonsense", "cadence": "once"}, "不是有效的选择"),
    ]
    for data, message in cases:
        response = c.post(f"/clients/{gold.id}/plan/items", data=data)
        assert response.status_code == 422, data
        assert message in response.get_data(as_text=True), (data, message)
    added = c.post(f"/clients/{gold.id}/plan/items", data={"kind": "seminar", "cadence": "once",
                                                          "title": "年度策略会", "starts_on": "2026-12-05"})
    assert added.status_code == 303
    assert "年度策略会" in c.get(f"/clients/{gold.id}/plan").get_data(as_text=True)


def test_revising_with_a_stale_version_shows_a_conflict(app, world, gold, login):
    plan = start(gold, world.manager1, now=utcnow())
    c = login("manager1")
    stale = plan.version
    assert c.post(f"/clients/{gold.id}/plan/revise", data={"version": stale, "goals": "甲",
                                                           "review_on": "2030-01-01"}).status_code == 303
    conflict = c.post(f"/clients/{gold.id}/plan/revise", data={"version": stale, "goals": "乙",
                                                               "review_on": "2030-02-01"})
    assert conflict.status_code == 409
    db.session.expire_all()
    assert db.session.get(ServicePlan, plan.id).goals == "甲"
    early = c.post(f"/clients/{gold.id}/plan/revise", data={"version": db.session.get(ServicePlan, plan.id).version,
                                                            "goals": "乙", "review_on": "2001-01-01"})
    assert early.status_code == 422 and "复查日期必须晚于计划开始日期" in early.get_data(as_text=True)


def test_ending_needs_a_reason_and_then_a_new_plan_can_start(app, world, gold, login):
    plan = start(gold, world.manager1, now=utcnow())
    c = login("manager1")
    assert c.post(f"/clients/{gold.id}/plan/end", data={"reason": ""}).status_code == 422
    assert c.post(f"/clients/{gold.id}/plan/end", data={"reason": "客户要求"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(ServicePlan, plan.id).status == "ended"
    page = c.get(f"/clients/{gold.id}/plan").get_data(as_text=True)
    assert "开始执行计划" in page and "客户要求" in page


def test_removing_an_item_of_another_plan_is_404(app, world, gold, login):
    start(gold, world.manager1, now=utcnow())
    other = make_client(world.manager1, name="另一位")
    db.session.commit()
    other_plan = start(other, world.manager1, now=utcnow(), template=plans.template_for(gold))
    c = login("manager1")
    response = c.post(f"/clients/{gold.id}/plan/items/{other_plan.items[0].id}/remove")
    assert response.status_code == 404


# ---------------------------------------------------------------- access

ROUTES = [
    ("get", "/clients/{id}/plan", {}),
    ("post", "/clients/{id}/plan", {"token": "t", "template_id": "1"}),
    ("post", "/clients/{id}/plan/revise", {"version": "1", "goals": "x", "review_on": "2030-01-01"}),
    ("post", "/clients/{id}/plan/items", {"kind": "seminar", "cadence": "once"}),
    ("post", "/clients/{id}/plan/items/{item}/remove", {}),
    ("post", "/clients/{id}/plan/end", {"reason": "x"}),
]


@pytest.mark.parametrize(("method", "path", "data"), ROUTES)
@pytest.mark.parametrize(("username", "allowed"), [
    ("manager2", False), ("othermanager", False), ("otherlead", False), ("lead", True), ("admin", True)])
def test_plan_pages_follow_client_visibility(app, world, gold, login, method, path, data, username, allowed):
    plan = start(gold, world.manager1, now=utcnow())
    url = path.format(id=gold.id, item=plan.items[0].id)
    response = getattr(login(username), method)(url, data=data)
    if allowed:
        assert response.status_code in (200, 303, 422), (username, url, response.status_code)
    else:
        assert response.status_code == 404, (username, url, response.status_code)
        db.session.expire_all()
        assert db.session.get(ServicePlan, plan.id).status == "active"
        assert db.session.get(ServicePlan, plan.id).goals == plan.goals


def test_the_plans_list_shows_only_visible_plans(app, world, gold, login):
    start(gold, world.manager1, now=utcnow())
    theirs = make_client(world.other_manager, name="别队客户")
    db.session.commit()
    start(theirs, world.other_manager, now=utcnow(), template=plans.template_for(gold))
    seen = {name: login(name).get("/plans").get_data(as_text=True)
            for name in ("manager1", "manager2", "lead", "otherlead", "admin")}
    assert "金卡客户" in seen["manager1"] and "别队客户" not in seen["manager1"]
    assert "金卡客户" not in seen["manager2"]
    assert "金卡客户" in seen["lead"] and "别队客户" not in seen["lead"]
    assert "别队客户" in seen["otherlead"] and "金卡客户" not in seen["otherlead"]
    assert "金卡客户" in seen["admin"] and "别队客户" in seen["admin"]


# ---------------------------------------------------------------- templates (admin)

def test_admins_manage_templates_and_nobody_else_can(app, world, login):
    for name in ("manager1", "lead"):
        assert login(name).get("/admin/plan-templates").status_code == 403
        assert login(name).post("/admin/plan-templates/new", data={"name": "x", "review_months": 6}).status_code == 403
    c = login("admin")
    assert "钻石客户服务计划" in c.get("/admin/plan-templates").get_data(as_text=True)
    assert c.post("/admin/plan-templates/new", data={"name": "钻石客户服务计划", "review_months": 6}).status_code == 422
    created = c.post("/admin/plan-templates/new", data={"name": "新客户欢迎计划", "tier_id": "",
                                                        "goals": "三个月内建立信任", "review_months": 3, "active": "y"})
    assert created.status_code == 303
    template = db.session.execute(sa.select(PlanTemplate).where(PlanTemplate.name == "新客户欢迎计划")).scalar_one()
    bad = c.post(f"/admin/plan-templates/{template.id}/items", data={"kind": "care", "cadence": "holidays"})
    assert bad.status_code == 422 and "请至少选择一个节日" in bad.get_data(as_text=True)
    assert c.post(f"/admin/plan-templates/{template.id}/items",
                  data={"kind": "review_call", "cadence": "weeks", "every": 2, "offset_days": 7}).status_code == 303
    db.session.expire_all()
    item = db.session.get(PlanTemplate, template.id).items[0]
    assert (item.kind, item.cadence, item.every, item.offset_days) == ("review_call", "weeks", 2, 7)
    assert c.post(f"/admin/plan-templates/{template.id}/items/{item.id}/remove").status_code == 303
    db.session.expire_all()
    assert db.session.get(PlanTemplate, template.id).items == []


# ---------------------------------------------------------------- any input, never a server error

_TEXT = st.one_of(st.text(max_size=30), st.sampled_from(["", "0", "-1", "999999", "1", "2026-02-30", "2026-12-31",
                                                        "review_call", "care", "product", "birthday",
                                                        "holidays", "months", "once", "mid_autumn", "1e3"]))


@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.fixed_dictionaries({}, optional={
    name: _TEXT for name in ("kind", "cadence", "every", "holidays", "product_id", "title", "starts_on")}))
def test_the_add_service_form_never_fails_with_a_server_error(app, world, gold, login, data):
    if plans.active_plan(gold) is None:
        start(gold, world.manager1, now=utcnow())
    response = login("manager1").post(f"/clients/{gold.id}/plan/items", data=data)
    assert response.status_code in (303, 422), (data, response.status_code)
    db.session.rollback()


@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(action=st.sampled_from(["revise", "end", "start", "template", "template_item"]),
       data=st.fixed_dictionaries({}, optional={
           name: _TEXT for name in ("version", "goals", "review_on", "reason", "token", "template_id", "name",
                                    "tier_id", "review_months", "active", "kind", "cadence", "every",
                                    "offset_days")}))
def test_the_other_plan_forms_never_fail_with_a_server_error(app, world, gold, login, action, data):
    if plans.active_plan(gold) is None and action in ("revise", "end"):
        start(gold, world.manager1, now=utcnow())
    template_id = db.session.scalar(sa.select(sa.func.min(PlanTemplate.id)))  # the examples may rename it
    path = {"revise": f"/clients/{gold.id}/plan/revise", "end": f"/clients/{gold.id}/plan/end",
            "start": f"/clients/{gold.id}/plan", "template": f"/admin/plan-templates/{template_id}",
            "template_item": f"/admin/plan-templates/{template_id}/items"}[action]
    response = login("admin").post(path, data=data)
    assert response.status_code in (303, 409, 422), (action, data, response.status_code)
    db.session.rollback()


def test_the_client_overview_links_to_the_plan(app, world, gold, login):
    c = login("manager1")
    assert "尚未制定：点此开始" in c.get(f"/clients/{gold.id}").get_data(as_text=True)
    start(gold, world.manager1, now=utcnow())
    page = c.get(f"/clients/{gold.id}").get_data(as_text=True)
    assert "金卡客户服务计划" in page and f'href="/clients/{gold.id}/plan" id="plan-summary"' in page


def test_the_plans_list_pages_and_filters_by_manager(app, world, login, monkeypatch):
    from crm.routes import plans as plan_routes

    monkeypatch.setattr(plan_routes, "PLAN_PAGE", 3)
    template = db.session.execute(sa.select(PlanTemplate).where(PlanTemplate.name == "普通客户服务计划")).scalar_one()
    for i in range(5):
        for owner in (world.manager1, world.manager2):
            client = make_client(owner, name=f"{owner.username}-客户{i}")
            db.session.commit()
            start(client, owner, now=utcnow() + timedelta(days=i), template=template)
    c = login("lead")
    first = c.get("/plans").get_data(as_text=True)
    assert first.count('data-plan="') == 3 and 'id="more-plans"' in first
    seen = []
    url = "/plans"
    while url:
        html = c.get(url).get_data(as_text=True)
        seen += re.findall(r'data-plan="(\d+)"', html)
        found = re.search(r'id="more-plans" href="([^"]+)"', html)
        url = found.group(1).replace("&amp;", "&") if found else None
    assert len(seen) == len(set(seen)) == 10
    mine = c.get(f"/plans?owner={world.manager2.id}").get_data(as_text=True)
    assert "manager2-客户0" in mine and "manager1-" not in mine
    # A manager outside the lead's team, or nonsense, is ignored rather than an error.
    assert c.get(f"/plans?owner={world.other_manager.id}&after=nonsense").status_code == 200
    assert "manager1-" not in login("manager2").get(f"/plans?owner={world.manager1.id}").get_data(as_text=True)


def test_a_product_above_the_client_s_level_is_refused_on_the_page_with_the_reason(app, world, gold, login):
    gold.risk_level, gold.risk_expires_at = 2, utcnow() + timedelta(days=300)
    risky = product("R4", 4)
    db.session.commit()
    start(gold, world.manager1, now=utcnow())
    response = login("manager1").post(f"/clients/{gold.id}/plan/items",
                                      data={"kind": "product", "cadence": "once", "product_id": risky.id})
    assert response.status_code == 422
    assert "产品风险等级R4高于客户风险等级C2" in response.get_data(as_text=True)
    assert not [i for i in plans.active_plan(gold).items if i.kind == "product"]


def test_the_client_timeline_shows_plans_started_and_ended(app, world, gold, login):
    plan = start(gold, world.manager1, now=utcnow() - timedelta(hours=1))
    plans.end_plan(plan, world.manager1, "客户要求暂停")
    db.session.commit()
    page = login("manager1").get(f"/clients/{gold.id}").get_data(as_text=True)
    assert "服务计划开始：金卡客户服务计划" in page and "服务计划结束：客户要求暂停" in page
    assert page.index("服务计划结束") < page.index("服务计划开始")  # newest first

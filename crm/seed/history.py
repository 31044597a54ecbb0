"""Three months of the team's work, replayed day by day through the app's own services. Demo only.

Every morning the nightly scan and the plan job run (scan daily in the last week, weekly before),
the back office's weekly asset file is imported, and on working days each manager works through the
follow-ups due: most the same day, some a day or two late, a few never (they are what is overdue
today, and the plan occurrences among them are the plans' missed ones). Doing a follow-up is logging
the visit that did it (crm.services.clients.log_visit), whose next contact date becomes the next
follow-up. Complaints, plan starts and a reassignment happen on their days through their services.
Rows the services stamp with the real clock (audit events, notifications, emails, tier changes) are
re-stamped with the simulated moment they belong to.
"""
from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy import orm as so

import crm.models as models
from crm.domain.workdays import is_working_day
from crm.extensions import db
from crm.models import (
    AssetSnapshot,
    AuditEvent,
    Client,
    ClientFlag,
    FollowUp,
    FollowUpKind,
    FollowUpSource,
    Notification,
    OutboxEmail,
    Stage,
    Tier,
    TierChange,
    User,
)
from crm.models.followup import OPEN_FOLLOWUP_STATES
from crm.seed import data
from crm.seed.book import SHANGHAI, Book, Script, local
from crm.services import clients, complaints, followups, plans, suitability
from crm.services.scan import scan_clients
from crm.services.tiers import recompute_tiers

NEVER = "never"
WEEKS_OF_SNAPSHOTS = 30


def fen(yuan: float) -> int:
    """Yuan to whole fen, rounded half up: 4.35 → 435 (multiplying the float and truncating gave 434)."""
    return int((Decimal(str(yuan)) * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


# Per manager: plan occurrences left undone 9-30 days ago (missed), other follow-ups left 2-6 days ago.
UNDONE = {"manager1": (2, 2), "manager2": (2, 2), "manager3": (1, 1)}
PLANS_PER_MANAGER = {"manager1": 6, "manager2": 6, "manager3": 3}
CHANNEL_OF_ITEM = {"review_call": "phone", "research_push": "wechat", "portfolio_review": "outlet",
                   "seminar": "seminar", "care": "wechat"}


class Restamp:
    """Re-stamps the rows the services dated with the real clock since the last call."""

    def __init__(self) -> None:
        self.columns: list[tuple[type, tuple[str, ...]]] = [
            (AuditEvent, ("at",)), (Notification, ("created_at",)), (OutboxEmail, ("created_at", "next_attempt_at")),
            (TierChange, ("changed_at",)), (FollowUp, ("created_at",))]
        owner_change = getattr(models, "OwnerChange", None)  # the reassignment history, when the app has it
        if owner_change is not None:
            self.columns.append((owner_change, ("changed_at",)))
        self.marks = {model: self._top(model) for model, _ in self.columns}

    @staticmethod
    def _top(model) -> int:
        return db.session.execute(sa.select(sa.func.coalesce(sa.func.max(model.id), 0))).scalar_one()

    def __call__(self, when: datetime, only: tuple[type, ...] | None = None) -> None:
        db.session.flush()
        for model, names in self.columns:
            if only is not None and model not in only:
                continue
            top = self._top(model)
            if top > self.marks[model]:
                statement = sa.update(model).where(model.id > self.marks[model], model.id <= top)
                if model is FollowUp:  # generated follow-ups carry their own (simulated) creation time
                    statement = statement.where(FollowUp.created_at > when)
                db.session.execute(statement.values({name: when for name in names})
                                   .execution_options(synchronize_session=False))
                self.marks[model] = top


@dataclass
class Quota:
    """How many follow-ups a manager still leaves undone: plan occurrences (missed) and others."""

    missed: int
    recent: int


class Replay:
    """The simulation: a calendar of events, the managers' daily work, and the jobs' runs."""

    def __init__(self, rng: random.Random, book: Book, go_live: date, today: date, now: datetime) -> None:
        self.rng, self.book, self.go_live, self.today, self.now = rng, book, go_live, today, now
        self.calendar = complaints.overrides()
        self.agenda: dict[date, list[tuple[datetime, Callable[[], None]]]] = defaultdict(list)
        self.fates: dict[int, date | str] = {}
        self.quota = {book.users[name].id: Quota(*undone) for name, undone in UNDONE.items()}
        self.by_id = {s.client.id: s for s in book.scripts}
        self.planned: set[int] = set()
        self.next_planned: set[int] = set()  # clients with an open next-contact follow-up
        self.leaving: dict[int, date] = {}
        self.item_kinds: dict[int, str] = {}
        self.activity: dict[int, datetime] = {s.client.id: s.client.created_at for s in book.scripts}
        self.series: dict[int, list[tuple[date, int]]] = {}
        self.tier_days = dict(db.session.execute(sa.select(Tier.id, Tier.max_days_between_contacts)).all())
        self.restamp = Restamp()
        self.visits = 0
        self.questionnaire = None
        self.agenda_time = now
        self.imported: dict[int, int] = {}  # client id → how many of its snapshots are in

    # ------------------------------------------------------------ calendar helpers

    def working(self, day: date) -> bool:
        return is_working_day(day, self.calendar)

    def working_day(self, day: date, step: int = 1) -> date:
        """`day` if it is a working day, else the next one (step 1) or the previous one (step -1)."""
        while not self.working(day):
            day += timedelta(days=step)
        return day

    def working_days_back(self, count: int) -> date:
        """The working day `count` working days before today."""
        day = self.today
        while count:
            day -= timedelta(days=1)
            if self.working(day):
                count -= 1
        return day

    def add_working_days(self, day: date, count: int) -> date:
        while count:
            day += timedelta(days=1)
            if self.working(day):
                count -= 1
        return day

    def on(self, day: date, hour: int, minute: int, action: Callable[[], None]) -> None:
        """Put an action on the calendar (only days before today are replayed)."""
        if self.go_live <= day < self.today:
            self.agenda[day].append((local(day, hour, minute), action))

    def touch(self, client: Client, when: datetime) -> None:
        self.activity[client.id] = max(self.activity[client.id], when)

    # ------------------------------------------------------------ set-up

    def prepare(self) -> None:
        """Draw the asset histories and put every scripted event on the calendar."""
        from crm.domain.questionnaire_text import load_default_questionnaire

        self.questionnaire = suitability.create_questionnaire(load_default_questionnaire(), None)
        for script in self.book.scripts:
            if script.assets_yuan:
                self.series[script.client.id] = self._series(script, self.snapshot_days())
        self._schedule_plans()
        self._assess_imported()
        for script in self.book.scripts:
            if script.captured_at is not None:
                self.on(script.captured_at.date(), script.captured_at.hour, script.captured_at.minute,
                        lambda s=script: self.first_contact(s))
            elif script.first_call_on is not None and self.working(script.first_call_on):
                self.on(script.first_call_on, 10, self.rng.randint(0, 59), lambda s=script: self.first_contact(s))
        self._schedule_stories()
        self._schedule_complaints()

    def snapshot_days(self) -> list[date]:
        """The weekly back-office snapshot dates, oldest first; the latest is two days ago."""
        latest = self.today - timedelta(days=2)
        return [latest - timedelta(weeks=k) for k in reversed(range(WEEKS_OF_SNAPSHOTS))]

    def _series(self, script: Script, days: list[date]) -> list[tuple[date, int]]:
        amount = script.assets_yuan
        rows = []
        for day in days:
            weeks_ago = (days[-1] - day).days // 7
            if not script.flat:
                amount *= 1 + self.rng.gauss(0.002, 0.02)
                if script.drop_weeks_ago == weeks_ago:
                    amount *= self.rng.uniform(0.45, 0.62)
            rows.append((day, fen(amount)))
        return rows

    def _assess_imported(self) -> None:
        """Risk assessments done before go-live (some about to expire, some expired) for opened accounts."""
        for script in self.book.scripts:
            client = script.client
            if client.stage not in (Stage.ACTIVE.value, Stage.DORMANT.value):
                continue
            roll = self.rng.random()
            if client.id in self.planned:  # a plan's clients were assessed before it was started
                roll = 1.0
            if roll < 0.08:
                continue
            if roll < 0.13:
                when = self.now - timedelta(days=730 - self.rng.randint(4, 27))  # expires within the month
            elif roll < 0.16:
                when = self.now - timedelta(days=730 + self.rng.randint(2, 20))  # expired lately
            elif roll < 0.19:
                when = self.now - timedelta(days=self.rng.randint(800, 1100))  # long expired
            else:
                when = local(self.go_live, 9) - timedelta(days=self.rng.randint(10, 640), minutes=self.rng.randint(0, 480))
            self.assess(client, client.owner, when)

    def assess(self, client: Client, actor: User, when: datetime) -> None:
        """Answer the shipped questionnaire, mostly middle answers, never a lowest-category one."""
        answers = {q.id: self.rng.choice([o for o in q.options if not o.lowest_category][1:] or q.options).id
                   for q in self.questionnaire.questions}
        suitability.submit_assessment(client, self.questionnaire, actor, answers, now=when)

    def _schedule_plans(self) -> None:
        """Each manager starts plans for their best active clients, spread over the first ten weeks."""
        for username, count in PLANS_PER_MANAGER.items():
            owner = self.book.users[username]
            candidates = [s for s in self.book.scripts if s.client.owner_id == owner.id
                          and s.client.stage == Stage.ACTIVE.value and s.assets_yuan and not s.flat
                          and s.drop_weeks_ago is None]
            candidates.sort(key=lambda s: -s.assets_yuan)
            for i, script in enumerate(candidates[:count]):
                day = self.working_day(self.go_live + timedelta(days=4 + i * 11 + self.rng.randint(0, 4)))
                self.planned.add(script.client.id)
                self.on(day, 10, 30, lambda s=script, d=day: self.start_plan(s, d))

    def _quiet_active(self, owner: User, count: int) -> list[Script]:
        found = [s for s in self.book.scripts if s.client.owner_id == owner.id and s.client.stage == Stage.ACTIVE.value
                 and s.client.id not in self.planned and not s.flat and s.drop_weeks_ago is None
                 and s.client.id not in self.leaving and not getattr(s, "storied", False)]
        chosen = found[:count]
        for script in chosen:
            script.storied = True
        return chosen

    def _schedule_stories(self) -> None:
        """Two clients asking about transferring out, one unhappy call-back, one reassignment."""
        m1, m2, m3 = (self.book.users[n] for n in ("manager1", "manager2", "manager3"))
        for owner, back in ((m1, 9), (m2, 5)):
            for script in self._quiet_active(owner, 1):
                day = self.working_days_back(back)
                self.leaving[script.client.id] = day
                self.on(day, 15, 10, lambda s=script: self.special_visit(
                    s, "phone", "客户询问转户到其他券商的手续，称对方佣金更低，已说明我司的服务与费率方案",
                    intent="transfer_out"))
        for script in self._quiet_active(m2, 1):
            self.on(self.working_days_back(6), 11, 20, lambda s=script: self.special_visit(
                s, "phone", "年度回访：客户对近期电话经常打不通不满意，评分2分，已致歉并留下备用联系方式",
                satisfaction=2))
        for script in self._quiet_active(m1, 1):
            day = self.working_day(self.go_live + timedelta(days=45))
            self.on(day, 14, 0, lambda s=script: self.reassign(s, m2))

    # ------------------------------------------------------------ complaints

    def _schedule_complaints(self) -> None:
        """One about to be due for acknowledgement, one due for resolution, one closed, one escalated,
        one passed on by the 12386 hotline."""
        users = self.book.users
        m1, m2, m3 = users["manager1"], users["manager2"], users["manager3"]
        # A small demo book may lack candidates: those stories are then left out.
        picks = {owner.id: self._quiet_active(owner, n) + [None, None] for owner, n in ((m1, 2), (m2, 2), (m3, 1))}
        c1, c3 = picks[m1.id][:2]
        c2, c4 = picks[m2.id][:2]
        c5 = picks[m3.id][0]
        steps = complaints.S
        self._complaint(c1, self.working_days_back(1), (16, 40), "phone", "trading_system", "normal",
                        "客户来电反映本周开盘时段交易软件多次卡顿，委托未能及时撤单，自述损失约2,300元。",
                        "希望公司核实系统日志并给予书面说明和合理补偿", [])
        reg = self.working_days_back(14)
        self._complaint(c2, reg, (10, 20), "outlet", "fees", "normal",
                        "客户反映开户时约定佣金为万分之二点五，近三个月对账单均按万分之三收取。",
                        "按约定费率调整并退还多收部分",
                        [(1, steps.VERIFYING, "已受理，调取开户协议与佣金设置记录"),
                         (4, steps.RESPONSIBILITY_DECIDED, "核实为佣金参数设置错误，责任在我方"),
                         (7, steps.REMEDY_PROPOSED, "拟退还多收佣金 1,286.40 元并调整费率，已电话告知客户，等待答复")])
        reg = self.working_days_back(34)
        self._complaint(c3, reg, (9, 50), "online", "service_attitude", "normal",
                        "客户认为资讯推送过于频繁，且未经同意添加了其家人的微信。", "停止向家人推送，降低推送频率",
                        [(1, steps.VERIFYING, "已受理，与客户经理核实推送记录"),
                         (3, steps.RESPONSIBILITY_DECIDED, "推送频率确实过高，添加家人微信未经客户同意"),
                         (5, steps.REMEDY_PROPOSED, "当面致歉，删除家人联系方式，推送调整为每周一次"),
                         (6, steps.CLIENT_ANSWERED, "客户接受处理方案")],
                        close=(7, "已当面致歉，删除其家人联系方式，资讯推送调整为每周一次。", True, 4))
        reg = self.working_days_back(22)
        self._complaint(c4, reg, (14, 5), "letter", "product_sale", "serious",
                        "客户购买均衡配置混合基金后亏损18%，认为销售时未充分揭示风险，要求全额赔偿。",
                        "全额赔偿本金损失", [(1, steps.VERIFYING, "已调取双录记录，正在核对风险揭示环节")])
        for offset in (11, 13):  # the resolve deadline (10 working days) passes: lead, then compliance
            day = self.add_working_days(reg, offset)
            self.on(day, 9, 5, lambda d=day: self._escalate(d))
        self._handover(c4, self.add_working_days(reg, 12), users["lead"], "客户要求团队负责人出面沟通赔偿诉求")
        reg = self.working_days_back(4)
        self._complaint(c5, reg, (11, 0), "regulator", "transfer_obstruction", "normal",
                        "客户通过12386热线反映，在网点咨询销户时工作人员多次劝说其不要销户，态度敷衍。",
                        "要求道歉并协助尽快办理销户",
                        [(1, steps.VERIFYING, "已受理，联系网点负责人了解当天情况")])

    def _complaint(self, script: Script | None, day: date, at: tuple[int, int], channel: str, category: str,
                   severity: str, facts: str, request: str, steps: list, close: tuple | None = None) -> None:
        if script is None:
            return
        client = script.client
        holder: dict = {}

        def register() -> None:
            when = local(day, *at)
            holder["complaint"] = complaints.register(client.owner, {
                "complainant_name": client.name, "complainant_contact": client.mobile,
                "account_ref": client.account_no or "", "channel": channel, "category": category,
                "severity": severity, "facts": facts, "client_request": request,
                "staff_involved": client.owner.display_name if category == "service_attitude" else ""},
                client=client, now=when)
            self.restamp(when)

        self.on(day, *at, register)
        for offset, status, note in steps:
            step_day = self.add_working_days(day, offset)

            def move(status=status, note=note, step_day=step_day) -> None:
                when = local(step_day, 10, 15)
                complaints.transition(holder["complaint"], holder["complaint"].owner, status, note=note, now=when)
                self.restamp(when)

            self.on(step_day, 10, 15, move)
        if close is not None:
            offset, resolution, accepted, satisfaction = close
            close_day = self.add_working_days(day, offset)

            def finish() -> None:
                when = local(close_day, 16, 0)
                complaints.close(holder["complaint"], holder["complaint"].owner, resolution, accepted, satisfaction,
                                 now=when)
                self.restamp(when)

            self.on(close_day, 16, 0, finish)

    def _handover(self, script: Script | None, day: date, to: User, reason: str) -> None:
        """The complaint's handler hands it over (首办负责 ends only by a hand-over)."""
        if script is None:
            return

        def hand() -> None:
            found = db.session.execute(sa.select(models.Complaint).where(
                models.Complaint.client_id == script.client.id)).scalar_one()
            complaints.handover(found, found.owner, to, reason, now=self.agenda_time)
            self.restamp(self.agenda_time)

        self.on(day, 15, 30, hand)

    def _escalate(self, day: date) -> None:
        when = local(day, 9, 5)
        complaints.escalate_overdue(now=when)
        self.restamp(when)

    # ------------------------------------------------------------ events

    def start_plan(self, script: Script, day: date) -> None:
        client = script.client
        when = local(day, 10, 30)
        template = plans.template_for(client)
        if template is None:
            return
        started = plans.start_plan(client, client.owner, template, "", now=when)
        self.item_kinds.update({item.id: item.kind for item in started.plan.items})
        self.touch(client, when)
        self.restamp(when)

    def reassign(self, script: Script, to: User) -> None:
        clients.reassign(script.client, self.book.users["lead"], to, "客户工作单位搬到望京，改由望京支行赵经理就近服务")
        self.restamp(self.agenda_time)

    def first_contact(self, script: Script) -> None:
        """A prospect met at the outlet (or an old lead called back) and logged at once."""
        client = script.client
        when = script.captured_at or local(script.first_call_on, 10, self.rng.randint(0, 59))
        if script.captured_at is not None:
            db.session.add(models.StageChange(client_id=client.id, to_stage=Stage.PROSPECT.value,
                                              changed_by_id=client.owner_id, changed_at=when))
        summary = self.rng.choice(data.PROSPECT_SUMMARIES)
        self.log(client, client.owner, when, "outlet" if script.captured_at else "phone", summary)

    def special_visit(self, script: Script, channel: str, summary: str, intent: str | None = None,
                      satisfaction: int | None = None) -> None:
        client = script.client
        self.log(client, client.owner, self.agenda_time, channel, summary, intent=intent, satisfaction=satisfaction)

    # ------------------------------------------------------------ doing the work

    def next_contact(self, client: Client, day: date) -> date | None:
        """When the manager means to contact the client next (None: the thread goes quiet)."""
        rng = self.rng
        if client.stage in (Stage.PROSPECT.value, Stage.CONTACTED.value):
            gap = rng.randint(4, 14) if rng.random() < 0.7 else None
        elif client.stage == Stage.LOST.value:
            gap = None
        elif client.id in self.planned:
            gap = rng.randint(10, 25) if rng.random() < 0.15 else None
        else:
            days = self.tier_days.get(client.tier_id, 90)
            gap = round(days * rng.uniform(0.35, 0.8)) if rng.random() < 0.92 else None
        return self.working_day(day + timedelta(days=gap)) if gap else None

    def log(self, client: Client, actor: User, when: datetime, channel: str, summary: str, *,
            outcome: str | None = None, intent: str | None = None, satisfaction: int | None = None,
            completes: FollowUp | None = None) -> None:
        """Log a visit the way the visit form does, with its next contact; it may complete a follow-up."""
        rng = self.rng
        if intent is None and client.id in self.leaving and when.date() >= self.leaving[client.id]:
            intent = "transfer_out"  # still comparing the other broker's fees
        outcome = outcome or rng.choices(("served", "interested", "considering", "unreachable"), (5, 3, 2, 1))[0]
        # One planned next contact at a time: with one already open, the manager plans no other.
        if completes is not None and completes.source == FollowUpSource.VISIT:
            self.next_planned.discard(client.id)
        next_on = None if client.id in self.next_planned else self.next_contact(client, when.astimezone(SHANGHAI).date())
        if next_on is not None:
            self.next_planned.add(client.id)
        visit = clients.log_visit(client, actor, {
            "occurred_at": when, "channel": channel, "summary": summary, "outcome": outcome,
            "next_step": rng.choice(data.NEXT_STEP_TEXTS) if next_on else "", "next_contact_on": next_on,
            "intent": intent, "satisfaction": satisfaction, "created_at": when})
        if completes is not None:
            followups.complete(completes, visit, at=when)
        self.visits += 1
        self.touch(client, when)
        if client.stage == Stage.CONTACTED.value and outcome == "interested" and rng.random() < 0.35:
            self.open_account(client, actor, when + timedelta(minutes=20))

    def open_account(self, client: Client, actor: User, when: datetime) -> None:
        """The prospect opens an account: call-back follow-up (by the service), assessment, first assets."""
        clients.change_stage(client, actor, Stage.ACCOUNT_OPENED, at=when)
        client.account_no = data.account_no(self.rng, {c for (c,) in db.session.execute(sa.select(Client.account_no))
                                                      if c})
        self.assess(client, actor, when + timedelta(minutes=10))
        script = self.by_id[client.id]
        script.assets_yuan = round(self.rng.uniform(30_000, 800_000), 2)
        days = [d for d in self.snapshot_days() if d >= when.date()]
        self.series[client.id] = self._series(script, days)

    def work(self, day: date) -> None:
        """Each manager's day: the follow-ups due before the next working day, in due order."""
        rng = self.rng
        next_day = self.working_day(day + timedelta(days=1))
        managers = [m.id for m in self.book.managers]
        due = list(db.session.execute(
            sa.select(FollowUp).options(so.joinedload(FollowUp.client))
            .where(FollowUp.assignee_id.in_(managers), FollowUp.status.in_(OPEN_FOLLOWUP_STATES),
                   FollowUp.due_at < local(next_day, 0),
                   FollowUp.kind.not_in([FollowUpKind.COMPLAINT.value, FollowUpKind.REVIEW.value]))
            .order_by(FollowUp.assignee_id, FollowUp.due_at, FollowUp.id)).scalars())
        clock: dict[int, datetime] = {}
        for followup in due:
            fate = self.fates.get(followup.id) or self._fate(followup, day)
            self.fates[followup.id] = fate
            if fate == NEVER or fate > day:
                continue
            when = clock.get(followup.assignee_id, local(day, 9, 10)) + timedelta(minutes=rng.randint(6, 28))
            if when.astimezone(SHANGHAI).hour >= 18:
                continue  # tomorrow, then
            clock[followup.assignee_id] = when
            self.do(followup, when)
        self.restamp(local(day, 18), only=(FollowUp,))

    def _fate(self, followup: FollowUp, day: date) -> date | str:
        rng = self.rng
        ago = (self.today - followup.due_at.astimezone(SHANGHAI).date()).days
        quota = self.quota[followup.assignee_id]
        if followup.kind == FollowUpKind.PLAN_ITEM and 9 <= ago <= 30 and quota.missed and rng.random() < 0.35:
            quota.missed -= 1
            return NEVER
        if followup.kind != FollowUpKind.PLAN_ITEM and 2 <= ago <= 6 and quota.recent and rng.random() < 0.35:
            quota.recent -= 1
            return NEVER
        return self.add_working_days(day, rng.choices((0, 1, 2), (85, 11, 4))[0])

    def do(self, followup: FollowUp, when: datetime) -> None:
        """Log the visit that does this follow-up."""
        client, actor, rng = followup.client, followup.assignee, self.rng
        script = self.by_id[client.id]
        satisfaction = None
        if followup.kind == FollowUpKind.FLAG:
            if script.written_off:
                until = local(self.working_day(when.date() + timedelta(days=30)), 9)
                followups.snooze(followup, actor, until, "客户长期在外地，约好回京后再联系")
                del self.fates[followup.id]
                return
            flag = db.session.get(ClientFlag, followup.flag_id) if followup.flag_id is not None else None
            kind = flag.kind if flag is not None else "dormant"
            channel, summary = "phone", rng.choice(data.FLAG_SUMMARIES[kind])
        elif followup.source == FollowUpSource.PLAN:
            item_kind = self._item_kind(followup)
            channel, summary = CHANNEL_OF_ITEM.get(item_kind, "phone"), rng.choice(data.PLAN_SUMMARIES[item_kind])
        elif followup.kind == FollowUpKind.CALLBACK:
            channel, summary, satisfaction = "phone", data.CALLBACK_SUMMARY, rng.choice((4, 5, 5))
        elif client.stage in (Stage.PROSPECT.value, Stage.CONTACTED.value):
            channel, summary = rng.choice(("phone", "wechat", "outlet")), rng.choice(data.PROSPECT_SUMMARIES)
        else:
            channel = rng.choices(("phone", "wechat", "outlet", "visit"), (5, 3, 2, 1))[0]
            summary = rng.choice(data.VISIT_SUMMARIES)
        self.log(client, actor, when, channel, summary, completes=followup, satisfaction=satisfaction,
                 outcome="served" if followup.source == FollowUpSource.PLAN else None)
        if followup.kind == FollowUpKind.CALLBACK and client.stage == Stage.ACCOUNT_OPENED.value:
            clients.change_stage(client, actor, Stage.ACTIVE, at=when + timedelta(minutes=1))

    def _item_kind(self, followup: FollowUp) -> str:
        item_id = followup.plan_item_id or 0  # a review reminder has no item
        if item_id not in self.item_kinds:
            item = db.session.get(models.PlanItem, item_id)
            self.item_kinds[item_id] = item.kind if item is not None else "review_call"
        return self.item_kinds[item_id]

    # ------------------------------------------------------------ the jobs

    def import_assets(self, day: date) -> None:
        """The back office's weekly file: snapshots dated up to yesterday that are not in yet, then tiers."""
        rows = []
        for client_id, series in self.series.items():
            done = self.imported.get(client_id, 0)
            fresh = [(as_of, fen) for as_of, fen in series[done:] if as_of < day]
            self.imported[client_id] = done + len(fresh)
            rows += [{"client_id": client_id, "as_of": as_of, "total_assets_fen": fen, "source": "import"}
                     for as_of, fen in fresh]
        if not rows:
            return
        db.session.execute(sa.insert(AssetSnapshot), rows)
        recompute_tiers(sorted({r["client_id"] for r in rows}), source="import")
        self.restamp(local(day, 8), only=(TierChange,))

    def generate_plans(self, when: datetime) -> None:
        """The plan job's generation for every active plan (without its commit per batch: the seed commits once)."""
        active = list(db.session.execute(
            sa.select(models.ServicePlan)
            .options(so.selectinload(models.ServicePlan.items), so.joinedload(models.ServicePlan.client).joinedload(Client.owner))
            .where(models.ServicePlan.status == models.PlanStatus.ACTIVE.value).order_by(models.ServicePlan.id)).scalars())
        if active:
            plans._generate(active, when, plans.Window.read(when))

    def run(self) -> None:
        """Replay every day from go-live to yesterday."""
        self.import_assets(self.go_live)
        day = self.go_live
        while day < self.today:
            days_left = (self.today - day).days
            if day == self.go_live or days_left % 7 == 0 or days_left <= 6:
                scan_clients(now=local(day, 6, 30))
                self.restamp(local(day, 6, 30), only=(AuditEvent,))
            self.generate_plans(local(day, 6, 35))
            if day.weekday() == 1 or day == self.go_live:
                self.import_assets(day)
            for when, action in sorted(self.agenda.get(day, []), key=lambda e: e[0]):
                self.agenda_time = when
                action()
            if self.working(day):
                self.work(day)
            day += timedelta(days=1)

    def finish(self) -> None:
        """What the scheduler and the people would have left behind: reminders sent, notifications read,
        and each client's last activity as it happened (services count a back-dated visit as activity now)."""
        now = self.now
        db.session.flush()
        db.session.execute(sa.update(FollowUp).where(FollowUp.reminder_at < now, FollowUp.reminded_at.is_(None))
                           .values(reminded_at=FollowUp.reminder_at).execution_options(synchronize_session=False))
        db.session.execute(sa.update(Notification).where(Notification.created_at < now - timedelta(days=2))
                           .values(read_at=Notification.created_at).execution_options(synchronize_session=False))
        table = Client.__table__
        db.session.execute(
            sa.update(table).where(table.c.id == sa.bindparam("client_id"))
            .values(last_activity_at=sa.bindparam("at"), updated_at=sa.bindparam("at")),
            [{"client_id": client_id, "at": at.astimezone(timezone.utc)} for client_id, at in self.activity.items()])
        for obj in list(db.session.identity_map.values()):
            if isinstance(obj, Client):
                db.session.expire(obj)

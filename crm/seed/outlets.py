"""Outlet development in the demo: channel partners, referrals, the weekly coverage, check-ins, the team
pool and QR cards, replayed through the services after the client history. Demo only.

What a newcomer finds: each manager knows three or four people at their bank outlet (one of them overdue a
contact); the prospects that came from bank staff, corporate finance staff and clients name who brought
them; the team's week has a planned gap (招商银行国贸支行 is covered two days a week) and one made by leave
this week; managers checked in on the past working days; two prospects nobody called sit in the pools
and one was claimed back; manager1 and manager2 have QR cards through which visitors registered.
"""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from crm.domain.clock import SHANGHAI
from crm.domain.consent import CURRENT as CURRENT_CONSENT
from crm.extensions import db
from crm.models import (
    Client,
    CoverageExceptionKind,
    FollowUp,
    FollowUpSource,
    PartnerRole,
    SourceChannel,
    Stage,
)
from crm.seed import data
from crm.seed.book import Book, local
from crm.seed.history import Restamp
from crm.services import clients, coverage, partners, pool, qr_cards, self_registration

# Per manager: (name, role, organisation, days since the last contact or None for none yet, notes).
PARTNERS = {
    "manager1": (
        ("陈静", PartnerRole.TELLER, "工商银行 朝阳支行", 3, "柜台理财到期客户会主动介绍过来，周三下午人少好聊"),
        ("孙丽", PartnerRole.LOBBY_MANAGER, "工商银行 朝阳支行", 9, "大堂分流时帮忙引导咨询证券开户的客户"),
        ("周建国", PartnerRole.BRANCH_MANAGER, "工商银行 朝阳支行", 41, "支持驻点，季度沟通一次网点合作"),
        ("何芳", PartnerRole.CORPORATE_FINANCE, "北京华联商贸有限公司", 16, "每天来网点办业务，公司员工多，可做员工理财讲座"),
    ),
    "manager2": (
        ("郭敏", PartnerRole.LOBBY_MANAGER, "建设银行 望京支行", 5, "熟悉周边社区老客户"),
        ("马超", PartnerRole.TELLER, "建设银行 望京支行", 12, ""),
        ("林霞", PartnerRole.CORPORATE_FINANCE, "望京科技园物业管理公司", None, "上周新认识，尚未正式拜访"),
    ),
    "manager3": (
        ("黄磊", PartnerRole.TELLER, "中国银行 中关村支行", 7, "介绍过两位退休教师客户"),
        ("谢婷", PartnerRole.LOBBY_MANAGER, "中国银行 中关村支行", 35, "调岗到对公柜台，需重新联系"),
        ("邓洁", PartnerRole.CORPORATE_FINANCE, "中关村某软件公司", 20, "公司有员工持股计划，关注资产配置"),
    ),
}
CONTACT_NOTES = ("在网点聊到近期理财到期客户较多", "约好周五在网点办一场基金定投小讲座", "电话沟通，转介绍一位客户",
                 "微信发送了本周市场简报", "一起整理了大堂咨询客户名单")
# Weekdays (0 Monday) each manager is stationed at each outlet (index into the book's outlets).
PATTERNS = {"manager1": ((0, (0, 1, 2, 4)), (2, (3,))), "manager2": ((1, (0, 1, 2, 3)), (2, (4,))),
            "manager3": ((3, (0, 1, 3, 4)), (4, (2,)))}
# Partner roles that count as bank staff for the prospects' source channel.
BANK_ROLES = (PartnerRole.TELLER, PartnerRole.LOBBY_MANAGER, PartnerRole.BRANCH_MANAGER)
# Visitors who registered through the QR cards: (manager, days ago, hour, name, interest, preferred time).
REGISTRATIONS = (("manager1", 15, 11, "胡晓燕", "funds", "afternoon"), ("manager1", 6, 19, "唐一鸣", "retirement", "evening"),
                 ("manager1", 1, 20, "冯雅琪", "wealth", "morning"), ("manager2", 4, 12, "蒋国平", "stocks", "any"))


def develop(rng: random.Random, book: Book, go_live: date, today: date, now: datetime) -> None:
    """Everything of the module docstring, ending at `now`; the caller commits."""
    restamp = Restamp()
    managers = {u.username: u for u in book.managers}
    lead_of = {team.id: next(u for u in book.users.values() if u.role == "lead" and u.team_id == team.id)
               for team in book.teams}
    kept = _partners(rng, book, managers, now, restamp)
    _referrals(rng, managers, kept)
    _coverage(rng, book, managers, lead_of, go_live, today, now, restamp)
    _pool(book, managers, lead_of, now, restamp)
    _cards(book, managers, today, now, restamp)
    db.session.flush()


def _partners(rng, book, managers, now, restamp) -> dict[str, list]:
    taken: set[str] = set(db.session.execute(sa.select(Client.mobile)).scalars())
    kept: dict[str, list] = {}
    for username, rows in PARTNERS.items():
        manager = managers[username]
        kept[username] = []
        for name, role, organisation, days, notes in rows:
            met = now - timedelta(days=rng.randint(45, 80))
            partner = partners.add_partner(manager, {
                "name": name, "role": role.value, "organisation": organisation, "notes": notes,
                "mobile": data.mobile(rng, taken), "outlet_id": manager.outlet_id, "consent_contact": True})
            partner.created_at = partner.updated_at = met
            restamp(met)
            if days is not None:
                for back in sorted({days, days + rng.randint(8, 20), days + rng.randint(25, 40)}, reverse=True):
                    when = (now - timedelta(days=back)).replace(minute=rng.randint(0, 59))
                    if when > met:
                        partners.log_contact(partner, manager, {
                            "occurred_at": when, "channel": rng.choice(("outlet", "phone", "wechat")),
                            "summary": rng.choice(CONTACT_NOTES), "next_step": ""})
                        restamp(when)
            kept[username].append(partner)
    return kept


def _referrals(rng, managers, kept) -> None:
    """The prospects and clients captured as coming from bank staff, finance staff or a client name who."""
    for username, manager in managers.items():
        book = list(db.session.execute(sa.select(Client).where(Client.owner_id == manager.id)
                                       .order_by(Client.id)).scalars())
        bank = [p for p in kept[username] if p.role in BANK_ROLES]
        finance = [p for p in kept[username] if p.role == PartnerRole.CORPORATE_FINANCE]
        long_standing = [c for c in book if c.stage == Stage.ACTIVE.value]
        for client in book:
            if client.source_channel == SourceChannel.BANK_STAFF and bank:
                client.referrer_partner_id = rng.choice(bank).id
            elif client.source_channel == SourceChannel.CORPORATE_FINANCE and finance:
                client.referrer_partner_id = rng.choice(finance).id
            elif client.source_channel == SourceChannel.REFERRAL and long_standing:
                referrer = rng.choice(long_standing)
                if referrer.id != client.id:
                    client.referrer_client_id = referrer.id
    db.session.flush()


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _coverage(rng, book, managers, lead_of, go_live, today, now, restamp) -> None:
    """Weekly patterns since go-live, leave this week, and check-ins on the past working days."""
    start = _monday(go_live)
    for username, rows in PATTERNS.items():
        manager = managers[username]
        lead = lead_of[manager.team_id]
        for outlet_index, weekdays in rows:
            coverage.add_pattern(lead, manager, book.outlets[outlet_index], list(weekdays), start, None)
    restamp(local(start, 9, 0) - timedelta(days=3))
    this_week = _monday(today)
    wednesday = this_week + timedelta(days=2)
    coverage.add_exception(lead_of[managers["manager2"].team_id], managers["manager2"], wednesday,
                           CoverageExceptionKind.LEAVE.value, None, "总部合规培训")
    restamp(now - timedelta(days=max(1, today.weekday())))
    local_now = now.astimezone(SHANGHAI)
    for manager in managers.values():
        for back in range(14, -1, -1):
            day = today - timedelta(days=back)
            outlet_id = coverage.planned_outlet_id(manager, day)
            if outlet_id is None:
                continue
            arrived = local(day, 8, rng.randint(40, 59))
            if arrived > local_now or (back == 0 and manager.username == "manager1"):
                continue  # manager1 checks in themself when trying the demo
            outlet = coverage.get_outlet(outlet_id)
            consent = rng.random() < 0.3
            coverage.check_in(manager, outlet, arrived, consent, 39.91 + rng.random() / 10 if consent else None,
                              116.40 + rng.random() / 10 if consent else None)
            restamp(arrived)
            left = local(day, 17, rng.randint(10, 50))
            if left < local_now:
                coverage.check_out(manager, left)
                restamp(left)


def _pool(book, managers, lead_of, now, restamp) -> None:
    """The protection period began six days ago for the prospects on file (as an upgrade would set it);
    two nobody called are released now, one released three days ago was claimed back, and the lead
    extended one while its owner waits for the client's answer."""
    open_stages = (Stage.PROSPECT.value, Stage.CONTACTED.value)
    prospects = list(db.session.execute(sa.select(Client).where(Client.stage.in_(open_stages),
                                                                Client.account_opened_at.is_(None))
                                        .order_by(Client.id)).scalars())
    for client in prospects:
        client.protection_started_at = now - timedelta(days=6)
    quiet = [c for c in prospects if c.last_contact_at is None or c.last_contact_at < now - timedelta(days=12)]
    by_owner = {m.id: [c for c in quiet if c.owner_id == m.id] for m in managers.values()}
    released_earlier = by_owner[managers["manager1"].id][:1]
    released_now = by_owner[managers["manager1"].id][1:2] + by_owner[managers["manager3"].id][:1]
    for client in released_earlier:
        client.protection_started_at = now - timedelta(days=12)
    db.session.flush()
    earlier = now - timedelta(days=3, hours=2)
    pool.release_lapsed(earlier)
    restamp(earlier)
    for client in released_earlier:
        claimed = now - timedelta(days=2, hours=5)
        pool.claim(client.id, managers["manager2"], claimed)
        restamp(claimed)
    for client in released_now:
        client.protection_started_at = now - timedelta(days=9)
    db.session.flush()
    pool.release_lapsed(now - timedelta(minutes=30))
    restamp(now - timedelta(minutes=30))
    waiting = [c for c in by_owner[managers["manager2"].id] if c not in released_earlier][:1]
    for client in waiting:
        pool.extend(client, lead_of[managers["manager2"].team_id], now + timedelta(days=10), "客户出差，下周回京再约",
                    now=now - timedelta(days=1))
        restamp(now - timedelta(days=1))


def _cards(book, managers, today, now, restamp) -> None:
    """A QR card for manager1 and manager2 at their outlets, and the visitors who registered through them."""
    cards = {}
    for username in ("manager1", "manager2"):
        manager = managers[username]
        issued = now - timedelta(days=20)
        cards[username] = qr_cards.issue_card(manager, db.session.get(type(manager.outlet), manager.outlet_id),
                                              issued)
        restamp(issued)
    taken: set[str] = set(db.session.execute(sa.select(Client.mobile)).scalars())
    rng = random.Random(20261202)
    for username, days, hour, name, interest, preferred in REGISTRATIONS:
        when = local(today - timedelta(days=days), hour, rng.randint(0, 59))
        if when > now:
            continue
        done = self_registration.register(cards[username], {
            "name": name, "mobile": data.mobile(rng, taken), "interest": interest, "preferred_time": preferred,
            "consent_version": CURRENT_CONSENT}, "zh_CN", when)
        restamp(when)
        client = db.session.get(Client, done.registration.client_id)
        client.created_at = client.updated_at = client.last_activity_at = client.protection_started_at = when
        call_back = db.session.execute(sa.select(FollowUp).where(
            FollowUp.source == FollowUpSource.QR.value,
            FollowUp.self_registration_id == done.registration.id)).scalar_one_or_none()
        if call_back is not None and days >= 4:
            # The manager called back the next morning and logged it.
            called = call_back.due_at + timedelta(minutes=20)
            clients.log_visit(client, managers[username], {
                "occurred_at": called, "channel": "phone", "summary": f"扫码登记后回电，客户关注{_INTERESTS[interest]}",
                "outcome": "interested", "next_step": "邀请来网点面谈"}, completes=call_back)
            call_back.completed_at = called
            restamp(called)


_INTERESTS = {"funds": "基金", "stocks": "股票", "wealth": "理财", "retirement": "养老规划", "other": "其他"}

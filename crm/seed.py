"""Demo data: users, one team, three outlets, clients with 18 months of visits. Demo only."""
from __future__ import annotations

import random
from datetime import timedelta

import click
import sqlalchemy as sa

from crm.extensions import db
from crm.models import (
    Client,
    Outlet,
    Role,
    SourceChannel,
    Stage,
    StageChange,
    Team,
    VisitChannel,
    VisitLog,
    VisitOutcome,
    utcnow,
)
from crm.services.clients import set_mobile, set_name
from crm.services.users import create_user

DEMO_PASSWORD = "demo-pass-123"

SURNAMES = list("王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史顾侯邵孟龙万段钱汤尹黎易常武乔贺赖龚文") + ["欧阳", "司马", "上官"]
GIVEN = list("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志强海燕文博子涵浩然欣怡梓萱宇轩思远佳琪晨曦雨桐俊杰嘉怡泽宇诗涵晓东丹丹红梅春生金凤玉兰永刚德明")
SUMMARIES = [
    "在网点大堂交流，了解客户理财到期情况", "电话回访，客户关注近期市场波动", "微信推送研报，客户回复感兴趣",
    "客户询问两融业务开通条件", "介绍基金定投，客户表示考虑", "陪同客户在网点办理银证转账",
    "邀请参加周六投资策略讲座", "客户咨询国债逆回购操作", "上门拜访企业财务负责人，介绍员工理财服务",
    "客户反映交易软件登录慢，已协助处理",
]
NEXT_STEPS = ["下周电话跟进", "寄送产品资料", "邀请参加讲座", "协助开户", "月底回访", ""]


def _mobile(rng: random.Random, taken: set[str]) -> str:
    while True:
        number = "1" + rng.choice("3456789") + "".join(rng.choice("0123456789") for _ in range(9))
        if number not in taken:
            taken.add(number)
            return number


def seed(n_clients: int = 200, rng_seed: int = 20261125) -> str:
    """Fill an empty database with demo data; the caller commits."""
    rng = random.Random(rng_seed)
    now = utcnow()
    outlets = [
        Outlet(bank="工商银行", branch="朝阳支行", city="北京"),
        Outlet(bank="建设银行", branch="望京支行", city="北京"),
        Outlet(bank="招商银行", branch="国贸支行", city="北京"),
    ]
    team = Team(name="朝阳营销一部")
    db.session.add_all([*outlets, team])
    db.session.flush()
    admin = create_user("admin", "合规管理员", DEMO_PASSWORD, Role.ADMIN, email="admin@example.com")
    lead = create_user("lead", "李团队长", DEMO_PASSWORD, Role.LEAD, email="lead@example.com",
                       team=team, outlet=outlets[0])
    managers = [
        create_user("manager1", "王经理", DEMO_PASSWORD, Role.MANAGER, email="manager1@example.com",
                    team=team, outlet=outlets[0]),
        create_user("manager2", "赵经理", DEMO_PASSWORD, Role.MANAGER, email="manager2@example.com",
                    team=team, outlet=outlets[1]),
    ]
    del admin, lead
    taken: set[str] = set()
    names: set[str] = set()
    visits = 0
    with click.progressbar(range(n_clients), label="Demo clients") as bar:
        for i in bar:
            owner = managers[0] if i % 20 < 11 else managers[1]
            while True:
                name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
                if name not in names:
                    names.add(name)
                    break
            created = now - timedelta(days=rng.randint(20, 540), minutes=rng.randint(0, 600))
            client = Client(owner_id=owner.id, created_by_id=owner.id, created_at=created,
                            updated_at=created, last_activity_at=created,
                            outlet_id=rng.choice(outlets).id if rng.random() > 0.1 else owner.outlet_id,
                            source_channel=rng.choice(list(SourceChannel)).value,
                            gender=rng.choice(("male", "female")),
                            age_band=rng.choice(("25_34", "35_44", "45_54", "55_64", "65p")),
                            interests=rng.choice(("基金定投", "国债逆回购", "两融", "港股通", "银行理财到期转投", "")),
                            consent_contact=True, consent_channel="phone", consent_at=created,
                            stage=Stage.PROSPECT.value)
            set_name(client, name)
            set_mobile(client, _mobile(rng, taken))
            db.session.add(client)
            db.session.flush()
            db.session.add(StageChange(client_id=client.id, to_stage=Stage.PROSPECT.value,
                                       changed_by_id=owner.id, changed_at=created))
            # A fifth of clients went quiet months ago: they show up as dormant candidates.
            quiet = rng.random() < 0.2
            span_end = now - timedelta(days=rng.randint(100, 300)) if quiet else now
            count = rng.randint(0, 8) if not quiet else rng.randint(1, 3)
            last = None
            for _ in range(count):
                window = max((span_end - created).total_seconds(), 3600)
                at = created + timedelta(seconds=rng.uniform(0, window))
                db.session.add(VisitLog(client_id=client.id, author_id=owner.id, occurred_at=at,
                                        channel=rng.choice(list(VisitChannel)).value,
                                        summary=rng.choice(SUMMARIES),
                                        outcome=rng.choice(list(VisitOutcome)).value,
                                        next_step=rng.choice(NEXT_STEPS), created_at=at))
                visits += 1
                last = at if last is None or at > last else last
            stage = Stage.PROSPECT
            if last is not None:
                stage = rng.choice([Stage.CONTACTED, Stage.ACCOUNT_OPENED, Stage.ACTIVE, Stage.ACTIVE])
                if quiet:
                    stage = rng.choice([Stage.DORMANT, Stage.ACTIVE, Stage.LOST])
                client.last_contact_at = last
                client.last_activity_at = last
            if stage != Stage.PROSPECT:
                at = (last or created)
                db.session.add(StageChange(client_id=client.id, from_stage=Stage.PROSPECT.value,
                                           to_stage=stage.value, changed_by_id=owner.id, changed_at=at))
                client.stage = stage.value
                if stage in (Stage.ACCOUNT_OPENED, Stage.ACTIVE):
                    client.account_opened_at = at
    db.session.flush()
    products = _seed_products()
    snapshots = _seed_assets(rng, now)
    assessed = _seed_assessments(rng, now, managers)
    planned = _seed_plans(now)
    return (f"{len(products)} products, {snapshots} asset snapshots, {assessed} risk assessments, "
            f"{planned} service plans, 4 users, 1 team, {len(outlets)} outlets, {n_clients} clients, {visits} visits")


def _seed_plans(now, per_manager: int = 6) -> int:
    """Service plans started today for a few active clients in the higher tiers of each manager."""
    from crm.models import Tier
    from crm.services import plans

    started = 0
    owners = db.session.execute(sa.select(Client.owner_id).distinct().order_by(Client.owner_id)).scalars().all()
    for owner_id in owners:
        chosen = db.session.execute(
            sa.select(Client).join(Tier, Tier.id == Client.tier_id)
            .where(Client.owner_id == owner_id, Client.stage == Stage.ACTIVE.value)
            .order_by(Tier.min_assets_fen.desc(), Client.id).limit(per_manager)).scalars().all()
        for client in chosen:
            template = plans.template_for(client)
            if template is not None:
                plans.start_plan(client, client.owner, template, "", now=now)
                started += 1
    return started


def _seed_products() -> list:
    """A small shelf of products across the risk ratings."""
    from crm.models import Product

    shelf = [
        Product(code="MMF001", name="天天利货币基金", kind="fund", issuer="某基金公司", risk=1),
        Product(code="BOND02", name="稳健纯债A", kind="fund", issuer="某基金公司", risk=2),
        Product(code="MIX030", name="均衡配置混合", kind="fund", issuer="某基金公司", risk=3),
        Product(code="EQ0500", name="中证500指数增强", kind="fund", issuer="某基金公司", risk=4),
        Product(code="PRI888", name="量化对冲1号私募", kind="private", issuer="某私募", risk=5),
    ]
    db.session.add_all(shelf)
    db.session.flush()
    return shelf


def _seed_assets(rng: random.Random, now) -> int:
    """Two monthly snapshots for clients with an account, then tiers from the latest."""
    from crm.models import AssetSnapshot
    from crm.services.assets import recompute_tiers

    opened = list(db.session.execute(sa.select(Client.id).where(
        Client.stage.in_([Stage.ACCOUNT_OPENED.value, Stage.ACTIVE.value, Stage.DORMANT.value]))).scalars())
    today = now.date()
    rows = []
    for client_id in opened:
        base = rng.choice((80_000, 300_000, 800_000, 2_500_000, 12_000_000)) * 100
        rows.append({"client_id": client_id, "as_of": today - timedelta(days=35), "total_assets_fen": base,
                     "source": "demo"})
        rows.append({"client_id": client_id, "as_of": today - timedelta(days=5),
                     "total_assets_fen": int(base * rng.choice((1.0, 1.05, 0.95, 1.1, 0.9, 0.6))),
                     "source": "demo"})
    if rows:
        db.session.execute(sa.insert(AssetSnapshot), rows)
        recompute_tiers(opened, source="demo")
    return len(rows)


def _seed_assessments(rng: random.Random, now, managers) -> int:
    """The shipped questionnaire, answered for most clients with an account; some have expired."""
    from crm.domain.questionnaire_text import load_default_questionnaire
    from crm.services import suitability

    questionnaire = suitability.create_questionnaire(
        load_default_questionnaire(), None)
    opened = list(db.session.execute(sa.select(Client).where(
        Client.stage.in_([Stage.ACCOUNT_OPENED.value, Stage.ACTIVE.value, Stage.DORMANT.value]))).scalars())
    count = 0
    for client in opened:
        if rng.random() < 0.2:
            continue
        # Mostly middle answers, never the lowest-category ones, so levels spread over C2..C5.
        answers = {q.id: rng.choice([o for o in q.options if not o.lowest_category][1:] or q.options).id
                   for q in questionnaire.questions}
        when = now - timedelta(days=rng.randint(10, 760))
        assessor = next(m for m in managers if m.id == client.owner_id)
        suitability.submit_assessment(client, questionnaire, assessor, answers, now=when)
        count += 1
    return count

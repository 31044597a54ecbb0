"""The people, places and client book the demo starts from on its go-live day. Demo only."""
from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from crm.domain.clock import SHANGHAI
from crm.extensions import db
from crm.models import Client, Outlet, Product, Role, SourceChannel, Stage, StageChange, Team, User
from crm.seed import data
from crm.services.clients import set_mobile, set_name
from crm.services.users import create_user

DEMO_PASSWORD = "demo-pass-123"
# (username, display name, role, team index or None, outlet index or None); the README lists them.
DEMO_USERS = (
    ("admin", "合规管理员", Role.ADMIN, None, None),
    ("lead", "李团队长", Role.LEAD, 0, 0),
    ("manager1", "王经理", Role.MANAGER, 0, 0),
    ("manager2", "赵经理", Role.MANAGER, 0, 1),
    ("lead2", "周团队长", Role.LEAD, 1, 3),
    ("manager3", "刘经理", Role.MANAGER, 1, 3),
)
OUTLETS = (("工商银行", "朝阳支行", "北京"), ("建设银行", "望京支行", "北京"), ("招商银行", "国贸支行", "北京"),
           ("中国银行", "中关村支行", "北京"), ("交通银行", "学院路支行", "北京"))
TEAM_NAMES = ("朝阳营销一部", "海淀营销二部")
# Each manager's share of the book, and the outlets their clients bank at.
BOOK_SHARES = {"manager1": (0.45, (0, 0, 0, 2)), "manager2": (0.36, (1, 1, 1, 2)), "manager3": (0.19, (3, 3, 4))}
# Where the book's people came from (QR self-registrations are made by visitors: crm/seed/outlets.py).
BOOK_CHANNELS = [channel for channel in SourceChannel if channel != SourceChannel.QR]
# Tier of an opened account: (share, lowest and highest total assets in yuan).
TIER_MIX = ((0.52, 20_000, 480_000), (0.27, 520_000, 1_900_000), (0.15, 2_100_000, 9_000_000),
            (0.06, 10_500_000, 30_000_000))


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """That Shanghai wall-clock moment, as an aware datetime."""
    return datetime.combine(day, time(hour, minute), SHANGHAI)


@dataclass
class Script:
    """What will happen to one client during the replay (drawn once, up front)."""

    client: Client
    generation: str
    imported: bool
    assets_yuan: float | None = None   # opened account: total assets at the first snapshot
    flat: bool = False                 # money parked, no change for months (dormant: no asset activity)
    drop_weeks_ago: int | None = None  # the week the assets fell by a third or more
    written_off: bool = False          # stage dormant: the manager keeps putting the client off
    captured_at: datetime | None = None
    first_call_on: date | None = None


@dataclass
class Book:
    """Everything the replay starts from."""

    users: dict[str, User]
    teams: list[Team]
    outlets: list[Outlet]
    scripts: list[Script] = field(default_factory=list)
    products: list[Product] = field(default_factory=list)

    @property
    def managers(self) -> list[User]:
        return [u for u in self.users.values() if u.role == Role.MANAGER]


def people() -> Book:
    """Outlets, two teams, their leads and managers, and the compliance admin."""
    outlets = [Outlet(bank=bank, branch=branch, city=city) for bank, branch, city in OUTLETS]
    teams = [Team(name=name) for name in TEAM_NAMES]
    db.session.add_all([*outlets, *teams])
    db.session.flush()
    users: dict[str, User] = {}
    for username, name, role, team, outlet in DEMO_USERS:
        user = create_user(username, name, DEMO_PASSWORD if not users else "-", role, email=f"{username}@example.com",
                           team=teams[team] if team is not None else None,
                           outlet=outlets[outlet] if outlet is not None else None)
        if users:
            # Same demo password for everyone: hashing it once keeps the seed fast (scrypt is slow on purpose).
            user.password_hash = next(iter(users.values())).password_hash
        users[username] = user
    return Book(users=users, teams=teams, outlets=outlets)


def products() -> list[Product]:
    """A small shelf of products across the risk ratings."""
    shelf = [
        Product(code="MMF001", name="天天利货币基金", kind="fund", issuer="鼎信基金", risk=1),
        Product(code="BOND02", name="稳健纯债A", kind="fund", issuer="鼎信基金", risk=2),
        Product(code="MIX030", name="均衡配置混合", kind="fund", issuer="博润基金", risk=3),
        Product(code="EQ0500", name="中证500指数增强", kind="fund", issuer="博润基金", risk=4),
        Product(code="PRI888", name="远山量化对冲1号私募", kind="private", issuer="远山资产", risk=5),
    ]
    db.session.add_all(shelf)
    db.session.flush()
    return shelf


def _assets(rng: random.Random) -> float:
    """Total assets in yuan, log-uniform within a tier drawn by the tier mix."""
    share, low, high = rng.choices(TIER_MIX, [t[0] for t in TIER_MIX])[0]
    return round(math.exp(rng.uniform(math.log(low), math.log(high))), 2)


def clients(rng: random.Random, book: Book, n_clients: int, go_live: datetime, today: date) -> None:
    """The managers' books: clients imported on go-live day, and prospects captured since."""
    mobiles: set[str] = set()
    names: set[str] = set()
    ids: set[str] = set()
    accounts: set[str] = set()
    owners = []
    for username, (share, _) in BOOK_SHARES.items():
        owners += [username] * round(share * n_clients)
    owners = (owners + [owners[-1]] * n_clients)[:n_clients]
    days = (today - go_live.date()).days
    written_off = dict.fromkeys(BOOK_SHARES, 0)
    for i, username in enumerate(owners):
        owner = book.users[username]
        band = rng.choice(list(data.AGE_BANDS))
        youngest, oldest, generation = data.AGE_BANDS[band]
        male = rng.random() < 0.5
        imported = rng.random() < 0.75
        created = go_live + timedelta(minutes=i) if imported else local(
            go_live.date() + timedelta(days=rng.randint(1, days - 3)), rng.randint(10, 15), rng.randint(0, 59))
        client = Client(owner_id=owner.id, created_by_id=owner.id, created_at=created, updated_at=created,
                        last_activity_at=created,
                        outlet_id=book.outlets[rng.choice(BOOK_SHARES[username][1])].id,
                        source_channel=rng.choice(BOOK_CHANNELS).value, gender="male" if male else "female",
                        age_band=band, interests=rng.choice(data.INTERESTS), consent_contact=True,
                        consent_channel="phone", consent_at=created, stage=Stage.PROSPECT.value)
        set_name(client, data.person_name(rng, generation, names))
        set_mobile(client, data.mobile(rng, mobiles))
        script = Script(client=client, generation=generation, imported=imported)
        if imported:
            roll = rng.random()
            stage = (Stage.ACTIVE if roll < 0.875 else Stage.DORMANT if roll < 0.90 else Stage.LOST if roll < 0.93
                     else Stage.CONTACTED if roll < 0.96 else Stage.PROSPECT)
            client.stage = stage.value
            if stage in (Stage.ACTIVE, Stage.DORMANT, Stage.LOST):
                client.account_opened_at = created - timedelta(days=rng.randint(200, 3000))
                client.account_no = data.account_no(rng, accounts)
                script.assets_yuan = _assets(rng) if stage != Stage.LOST else None
                # At most one in forty of a manager's clients is one they keep putting off.
                if stage == Stage.DORMANT and rng.random() < 0.5 and written_off[username] < owners.count(username) / 40:
                    script.written_off = True
                    written_off[username] += 1
                if rng.random() < 0.65:
                    age = rng.randint(youngest, oldest)
                    birth = date(today.year - age, rng.randint(1, 12), rng.randint(1, 28))
                    client.id_number = data.id_number(rng, birth, male, ids)
            elif rng.random() < 0.6:
                script.first_call_on = go_live.date() + timedelta(days=rng.randint(2, 40))
        else:
            script.captured_at = created
        db.session.add(client)
        book.scripts.append(script)
    db.session.flush()
    for script in book.scripts:
        client = script.client
        if script.imported:
            db.session.add(StageChange(client_id=client.id, from_stage=None, to_stage=client.stage,
                                       changed_by_id=client.owner_id, changed_at=client.created_at,
                                       note="上线时从原客户台账导入"))
    _mark_asset_stories(rng, book)


def _mark_asset_stories(rng: random.Random, book: Book) -> None:
    """Per manager, in proportion to the book: parked accounts (no asset change for months) and sharp
    falls, a few still recent (at risk today), others weeks ago (flagged then, cleared since)."""
    for owner in book.managers:
        active = [s for s in book.scripts if s.client.owner_id == owner.id and s.client.stage == Stage.ACTIVE.value
                  and s.assets_yuan]
        rng.shuffle(active)
        count = max(1, round(len(active) / 22))
        for script in active[:count]:
            script.flat = True
        for script in active[count:count * 2]:
            script.drop_weeks_ago = rng.randint(0, 3)
        for script in active[count * 2:count * 4]:
            script.drop_weeks_ago = rng.randint(6, 11)

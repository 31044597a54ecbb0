"""Test data builders that go through the same services as the app."""
from __future__ import annotations

import itertools
from datetime import timedelta

from crm.extensions import db
from crm.models import Outlet, Role, Team, utcnow
from crm.services import clients as client_service
from crm.services import users

PASSWORD = "test-pass-12345"
_mobiles = itertools.count(13800000000)


def create_user(*args, **kwargs):
    """A user for the test world: not audited, so tests count only the audit rows they cause."""
    return users.create_user(*args, audited=False, **kwargs)


def next_mobile() -> str:
    """A fresh valid mobile number."""
    return str(next(_mobiles))


def make_world():
    """Two teams, three outlets, an admin; the caller commits."""
    from tests.conftest import World

    team, other_team = Team(name="一部"), Team(name="二部")
    outlets = [Outlet(bank="工商银行", branch="朝阳支行", city="北京"),
               Outlet(bank="建设银行", branch="望京支行", city="北京"),
               Outlet(bank="招商银行", branch="国贸支行", city="北京")]
    db.session.add_all([team, other_team, *outlets])
    db.session.flush()
    return World(
        team=team, other_team=other_team, outlets=outlets,
        admin=create_user("admin", "合规", PASSWORD, Role.ADMIN, email="admin@example.com"),
        lead=create_user("lead", "李团队长", PASSWORD, Role.LEAD, team=team, email="lead@example.com"),
        manager1=create_user("manager1", "王经理", PASSWORD, Role.MANAGER, team=team, outlet=outlets[0],
                             email="m1@example.com"),
        manager2=create_user("manager2", "赵经理", PASSWORD, Role.MANAGER, team=team, outlet=outlets[1],
                             email="m2@example.com"),
        other_lead=create_user("otherlead", "孙团队长", PASSWORD, Role.LEAD, team=other_team),
        other_manager=create_user("othermanager", "钱经理", PASSWORD, Role.MANAGER, team=other_team),
    )


def make_client(owner, name: str = "张三", mobile: str | None = None, days_ago: int = 0, **extra):
    """A prospect owned by `owner`, created through the capture service; flushed, not committed."""
    data = {"name": name, "mobile": mobile or next_mobile(), "source_channel": "walk_in"}
    data.update(extra)
    client = client_service.capture_prospect(owner, data)
    if days_ago:
        when = utcnow() - timedelta(days=days_ago)
        client.created_at = client.last_activity_at = when
    db.session.flush()
    return client


def make_visit(client, author, **extra):
    """A visit logged through the service; flushed, not committed."""
    data = {"occurred_at": utcnow(), "channel": "phone", "summary": "电话沟通", "outcome": "interested"}
    data.update(extra)
    return client_service.log_visit(client, author, data)


# The smallest questionnaire that scores all five levels: two questions (tests of pages and access).
SMALL_QUESTIONNAIRE = """
标题: 测试问卷
分档: 4 6 8 10
1. 您能承受的最大损失？
- 不能承受任何损失 | 1 | 最低
- 10%以内 | 3
- 30%以上 | 5
2. 投资经验？
- 没有 | 1
- 5年以上 | 5
"""


def make_questionnaire(text: str = SMALL_QUESTIONNAIRE):
    """A questionnaire published through the service (the one in use); flushed, not committed."""
    from crm.domain.questionnaire_text import parse_questionnaire
    from crm.services import suitability

    return suitability.create_questionnaire(parse_questionnaire(text), None)

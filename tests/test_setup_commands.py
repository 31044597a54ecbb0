"""Setting up a deployment from the command line: outlet, team, then users in them, without prompts."""
from __future__ import annotations

import sqlalchemy as sa

from crm.extensions import db
from crm.models import Outlet, Team, User

PASSWORD = "a-long-password-1"


def _create_user(runner, *args):
    return runner.invoke(args=["create-user", *args, "--email", ""], env={"CRM_NEW_USER_PASSWORD": PASSWORD})


def test_outlet_team_admin_lead_and_manager_are_created_in_order_without_prompts(runner, app):
    assert runner.invoke(args=["create-outlet", "--bank", "工商银行", "--branch", "朝阳支行",
                               "--city", "北京"]).exit_code == 0
    assert runner.invoke(args=["create-team", "一部"]).exit_code == 0
    results = [
        _create_user(runner, "--username", "admin", "--display-name", "合规", "--role", "admin"),
        _create_user(runner, "--username", "lead", "--display-name", "李团队长", "--role", "lead", "--team", "一部"),
        _create_user(runner, "--username", "wang", "--display-name", "王经理", "--role", "manager",
                     "--team", "一部", "--outlet", "工商银行  朝阳支行"),
    ]
    assert [r.exit_code for r in results] == [0, 0, 0], [r.output for r in results]
    assert "Created manager 'wang' in team 一部 at 工商银行 朝阳支行." in results[2].output
    wang = db.session.execute(sa.select(User).where(User.username == "wang")).scalar_one()
    assert wang.team.name == "一部" and wang.outlet.branch == "朝阳支行" and wang.check_password(PASSWORD)


def test_a_manager_without_a_team_is_refused_like_on_the_admin_page(runner, app):
    result = _create_user(runner, "--username", "wang", "--display-name", "王经理", "--role", "manager")
    assert result.exit_code != 0 and "a manager belongs to a team" in result.output
    assert db.session.execute(sa.select(User.id)).first() is None


def test_an_unknown_team_or_outlet_is_named_and_nothing_is_created(runner, app):
    unknown_team = _create_user(runner, "--username", "li", "--display-name", "李", "--role", "lead",
                                "--team", "无此团队")
    assert unknown_team.exit_code != 0 and "no team '无此团队': create it first with create-team" in unknown_team.output
    runner.invoke(args=["create-team", "一部"])
    unknown_outlet = _create_user(runner, "--username", "li", "--display-name", "李", "--role", "lead",
                                  "--team", "一部", "--outlet", "无此 网点")
    assert unknown_outlet.exit_code != 0 and "create-outlet" in unknown_outlet.output
    assert db.session.execute(sa.select(User.id)).first() is None


def test_creating_an_existing_team_or_outlet_fails_unless_asked_to_skip_it(runner, app):
    assert runner.invoke(args=["create-team", "一部"]).exit_code == 0
    again = runner.invoke(args=["create-team", "一部"])
    assert again.exit_code != 0 and "exists already" in again.output
    assert runner.invoke(args=["create-team", "一部", "--if-absent"]).exit_code == 0
    outlet = ["create-outlet", "--bank", "建设银行", "--branch", "望京支行", "--city", "北京"]
    assert runner.invoke(args=outlet).exit_code == 0
    assert runner.invoke(args=outlet).exit_code != 0
    assert runner.invoke(args=[*outlet, "--if-absent"]).exit_code == 0
    assert db.session.execute(sa.select(sa.func.count(Team.id))).scalar_one() == 1
    assert db.session.execute(sa.select(sa.func.count(Outlet.id))).scalar_one() == 1


def test_a_short_password_is_refused(runner, app):
    result = runner.invoke(args=["create-user", "--username", "a", "--display-name", "A", "--email", "",
                                 "--role", "admin"], env={"CRM_NEW_USER_PASSWORD": "short"})
    assert result.exit_code != 0 and "at least 12 characters" in result.output

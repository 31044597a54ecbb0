"""The audit trail: labelled actions, names with links, details in the reader's language, where each
event came from, outlet and team changes, filters, keyset pages without N+1, and a formula-safe CSV."""
from __future__ import annotations

import ast
import csv
import io
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from crm import labels
from crm.extensions import db
from crm.models import AuditEvent, Outlet, Team
from crm.services import audit
from tests.factories import make_client

CRM = Path(__file__).resolve().parent.parent / "crm"


def _record_calls():
    """Every audit.record(...) call in the application: (where, action codes, parameter names)."""
    for path in sorted(CRM.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "record"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "audit"):
                continue
            where = f"{path.relative_to(CRM.parent)}:{node.lineno}"
            action = node.args[1] if len(node.args) > 1 else None
            options = [action.body, action.orelse] if isinstance(action, ast.IfExp) else [action]
            codes = [o.value if isinstance(o, ast.Constant) and isinstance(o.value, str) else None for o in options]
            params = next((k.value for k in node.keywords if k.arg == "params"), None)
            keys = ([k.value for k in params.keys if isinstance(k, ast.Constant)]
                    if isinstance(params, ast.Dict) else None)
            yield where, codes, keys


def test_the_scan_finds_the_callers():
    assert len(list(_record_calls())) >= 30


def test_every_action_written_in_the_code_has_a_label():
    missing = []
    for where, codes, _keys in _record_calls():
        for code in codes:
            if code is None:
                missing.append(f"{where}: write the action as a literal (or `a if … else b`) so it can be checked")
            elif code not in labels.AUDIT_ACTIONS:
                missing.append(f"{where}: {code} has no label in crm.labels.AUDIT_ACTIONS")
    assert not missing, "\n".join(missing)


def test_every_detail_template_gets_the_parameters_its_callers_pass(app):
    for where, codes, keys in _record_calls():
        if keys is None:
            continue
        for code in codes:
            template = labels.AUDIT_DETAILS.get(code)
            assert template is not None, f"{where}: {code} records params but has no AUDIT_DETAILS template"
            for locale in ("zh_CN", "en"):
                with force_locale(locale):
                    str(template) % {key: "x" for key in keys}  # a KeyError names the missing parameter


# ---------------------------------------------------------------- the page

@pytest.fixture
def zhang(world):
    client = make_client(world.manager1, name="张三")
    db.session.commit()
    return client


def trail(c, **args) -> str:
    response = c.get("/admin/audit", query_string=args)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_actions_are_labelled_in_chinese_with_names_links_and_seconds(login, world, zhang):
    login("lead").post(f"/clients/{zhang.id}/reassign", data={"owner_id": world.manager2.id, "reason": "调岗"})
    page = trail(login("admin"))
    assert "客户转交" in page and "client.reassign" in page  # the code stays visible as a hint
    assert f'href="/clients/{zhang.id}"' in page and "张三" in page
    assert "王经理 → 赵经理：调岗" in page
    assert "李团队长" in page and f'href="/admin/audit?user={world.lead.id}"' in page
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", page)


def test_details_follow_the_reader_s_language(login, world, zhang):
    login("lead").post(f"/clients/{zhang.id}/reassign", data={"owner_id": world.manager2.id, "reason": "调岗"})
    world.admin.locale = "en"
    db.session.commit()
    page = trail(login("admin"))
    assert "Client reassigned" in page and "王经理 → 赵经理: 调岗" in page


def test_old_rows_keep_their_text(login, world, zhang):
    db.session.add(AuditEvent(actor_id=world.admin.id, action="user.update", object_type="user",
                              object_id=world.manager1.id, detail="manager/1/True → manager/1/False", remote_addr=""))
    db.session.commit()
    page = trail(login("admin"))
    assert "manager/1/True → manager/1/False" in page and "未记录" in page


def test_each_event_says_where_it_came_from(app, login, world, zhang):
    login("manager1").post(f"/clients/{zhang.id}/reveal", data={"field": "mobile"})
    web = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "reveal.mobile")).scalar_one()
    assert (web.source, web.remote_addr) == ("web", "127.0.0.1")
    audit.record(None, "flags.scan", "client_flags", None, params={"scanned": 1})
    db.session.commit()
    cli = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "flags.scan")).scalar_one()
    assert cli.source == "cli"
    try:
        audit.set_process_source("scheduler")
        audit.record(None, "flags.scan", "client_flags", None, params={"scanned": 2})
        db.session.commit()
    finally:
        audit._process_source = None
    page = trail(login("admin"))
    assert "127.0.0.1" in page and "命令行" in page and "系统（定时任务）" in page


def test_a_user_created_on_the_command_line_is_audited_as_such(runner, world):
    result = runner.invoke(args=["create-user", "--username", "boss", "--display-name", "合规部", "--email", "",
                                 "--role", "admin", "--password", "long-enough-pw"])
    assert result.exit_code == 0, result.output
    event = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "user.create")
                               .order_by(AuditEvent.id.desc())).scalars().first()
    assert (event.params["username"], event.actor_id, event.source) == ("boss", None, "cli")


def test_outlet_and_team_changes_and_memberships_are_logged(login, world):
    admin = login("admin")
    assert admin.post("/admin/outlets", data={"bank": "中国银行", "branch": "西单支行", "city": "北京",
                                              "active": "y"}).status_code == 303
    outlet = db.session.execute(sa.select(Outlet).where(Outlet.branch == "西单支行")).scalar_one()
    assert admin.post(f"/admin/outlets/{outlet.id}", data={"bank": "中国银行", "branch": "西单支行",
                                                           "city": "北京"}).status_code == 303  # taken out of use
    assert admin.post("/admin/teams", data={"name": "三部"}).status_code == 303
    team = db.session.execute(sa.select(Team).where(Team.name == "三部")).scalar_one()
    assert admin.post(f"/admin/teams/{team.id}", data={"name": "三部（财富）"}).status_code == 303
    m1 = world.manager1
    assert admin.post(f"/admin/users/{m1.id}", data={
        "username": m1.username, "display_name": m1.display_name, "email": m1.email, "role": "manager",
        "team_id": team.id, "outlet_id": "", "locale": "zh_CN", "active": "y"}).status_code == 303
    actions = [(e.action, e.object_id) for e in db.session.execute(sa.select(AuditEvent).order_by(AuditEvent.id)).scalars()]
    assert ("outlet.create", outlet.id) in actions and ("outlet.update", outlet.id) in actions
    assert ("team.create", team.id) in actions and ("team.rename", team.id) in actions
    assert ("team.leave", world.team.id) in actions and ("team.join", team.id) in actions
    page = trail(login("admin"), action="outlet").split("<tbody>")[1]
    assert "新增网点" in page and "中国银行 西单支行" in page and "停用" in page and "新建团队" not in page
    members = trail(login("admin"), action="team").split("<tbody>")[1]
    assert "王经理" in members and "三部（财富）" in members


def _events(world, client, n: int, start: datetime) -> None:
    for i in range(n):
        db.session.add(AuditEvent(at=start + timedelta(minutes=i), actor_id=world.manager1.id, action="reveal.mobile",
                                  object_type="client", object_id=client.id, client_id=client.id, source="web",
                                  remote_addr="10.0.0.1"))


def test_filters_by_user_client_action_and_shanghai_dates(login, world, zhang):
    lisi = make_client(world.manager2, name="李四")
    # 2026-11-30 23:30 in Shanghai is 15:30 UTC; 2026-12-01 00:30 in Shanghai is 16:30 UTC.
    db.session.add_all([
        AuditEvent(at=datetime(2026, 11, 30, 15, 30, tzinfo=timezone.utc), actor_id=world.manager1.id,
                   action="reveal.mobile", object_type="client", object_id=zhang.id, client_id=zhang.id,
                   source="web", remote_addr="10.0.0.1"),
        AuditEvent(at=datetime(2026, 11, 30, 16, 30, tzinfo=timezone.utc), actor_id=world.manager2.id,
                   action="reveal.id_number", object_type="client", object_id=lisi.id, client_id=lisi.id,
                   source="web", remote_addr="10.0.0.2"),
    ])
    db.session.commit()
    c = login("admin")
    assert "10.0.0.1" in trail(c, since="2026-11-30", until="2026-11-30") and \
        "10.0.0.2" not in trail(c, since="2026-11-30", until="2026-11-30")
    assert "10.0.0.2" in trail(c, since="2026-12-01") and "10.0.0.1" not in trail(c, since="2026-12-01")
    assert "10.0.0.1" not in trail(c, user=world.manager2.id)
    assert "10.0.0.2" not in trail(c, client=zhang.id) and "10.0.0.1" in trail(c, client=zhang.id)
    assert "10.0.0.2" in trail(c, client_name="李") and "10.0.0.1" not in trail(c, client_name="李")
    assert "10.0.0.1" in trail(c, action="reveal") and "10.0.0.1" not in trail(c, action="reveal.id_number")


def test_a_bad_date_is_a_clear_message_not_a_500(login, world):
    page = trail(login("admin"), since="2026-13-45")
    assert "YYYY-MM-DD" in page


def test_older_events_are_a_keyset_page_away(login, world, zhang):
    _events(world, zhang, 105, datetime(2026, 11, 1, tzinfo=timezone.utc))
    db.session.commit()
    c = login("admin")
    first = trail(c, client=zhang.id)
    link = re.search(r'href="(/admin/audit\?[^"]*before=(\d+)[^"]*)"', first)
    assert link and f"client={zhang.id}" in link.group(1)
    second = c.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert second.count("<tr>") - 1 == 5


def _queries_for(app, c, **args) -> int:
    statements = []

    def count(*_args):
        statements.append(1)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        trail(c, **args)
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def test_names_are_loaded_in_bulk_not_one_query_per_row(app, login, world, zhang):
    c = login("admin")
    _events(world, zhang, 2, datetime(2026, 11, 1, tzinfo=timezone.utc))
    db.session.commit()
    few = _queries_for(app, c)
    for i in range(30):
        client = make_client(world.manager2 if i % 2 else world.manager1, name=f"客户{i}")
        _events(world, client, 1, datetime(2026, 11, 2, tzinfo=timezone.utc))
    db.session.commit()
    assert _queries_for(app, c) == few


def test_the_csv_export_is_filtered_translated_and_formula_safe(login, world):
    evil = make_client(world.manager1, name='=HYPERLINK("http://x","点我")')
    other = make_client(world.manager1, name="李四")
    db.session.commit()
    login("manager1").post(f"/clients/{evil.id}/reveal", data={"field": "mobile"})
    login("manager1").post(f"/clients/{other.id}/reveal", data={"field": "mobile"})
    response = login("admin").get("/admin/audit", query_string={"format": "csv", "client": evil.id})
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["时间", "操作人", "操作"]
    assert len(rows) == 2 and "李四" not in text
    assert rows[1][2] == "查看完整手机号" and rows[1][3] == "reveal.mobile"
    assert rows[1][5] == "'=HYPERLINK(\"http://x\",\"点我\")"  # the client column
    assert not any(cell.startswith("=") for row in rows for cell in row)


def test_only_compliance_reads_the_trail(login, world):
    assert login("lead").get("/admin/audit").status_code == 403
    assert login("manager1").get("/admin/audit?format=csv").status_code == 403


def test_user_names_fall_back_to_a_label_for_the_system(login, world):
    audit.record(None, "flags.scan", "client_flags", None, params={
        "raised_dormant": 1, "raised_at_risk": 2, "updated": 0, "cleared": 0, "followups": 3, "scanned": 10})
    db.session.commit()
    page = trail(login("admin"))
    assert "系统" in page and "扫描客户 10 名：新增休眠 1、流失风险 2" in page


def test_setup_commands_are_audited_as_the_command_line(runner, app):
    assert runner.invoke(args=["create-outlet", "--bank", "中国银行", "--branch", "西单支行", "--city", "北京"]).exit_code == 0
    assert runner.invoke(args=["create-team", "三部"]).exit_code == 0
    events = {e.action: e for e in db.session.execute(sa.select(AuditEvent)).scalars()}
    assert events["outlet.create"].source == events["team.create"].source == "cli"
    assert events["outlet.create"].actor_id is None and events["team.create"].params == {"name": "三部"}


def test_deactivating_a_user_reads_as_such(login, world):
    login("admin").post(f"/admin/users/{world.manager2.id}", data={
        "username": "manager2", "display_name": "赵经理", "role": "manager", "team_id": world.team.id,
        "locale": "zh_CN"})
    event = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "user.update")).scalar_one()
    assert event.params["changes"] == ["deactivated"] and event.detail.startswith("manager2: Deactivated")
    rows = trail(login("admin"), action="user").split("<tbody>")[1]
    assert "修改用户" in rows and "manager2：停用" in rows and f'href="/admin/users/{world.manager2.id}"' in rows

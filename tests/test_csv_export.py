"""The CSV helper every export uses: formula-safe text cells, numbers kept as numbers, UTF-8 with a BOM."""
from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
import sqlalchemy as sa

from crm.extensions import db
from crm.models import utcnow
from crm.services.csv_export import FORMULA_STARTS, safe_cell, to_text


@pytest.mark.parametrize(("typed", "written"), [
    ('=HYPERLINK("http://evil.example","点我")', '\'=HYPERLINK("http://evil.example","点我")'),
    ("+1", "'+1"),
    ("-1", "'-1"),
    ("@x", "'@x"),
    ("\t=1+1", "'\t=1+1"),
    ("\r=1+1", "'\r=1+1"),
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
])
def test_text_a_spreadsheet_would_run_gets_an_apostrophe(typed, written):
    assert safe_cell(typed) == written


@pytest.mark.parametrize("plain", ["张三", "13912345678", "a=b", "1+1", "R3", "2026-12-01 10:00:00", ""])
def test_ordinary_text_is_left_alone(plain):
    assert safe_cell(plain) == plain


@pytest.mark.parametrize("number", [-1, -1500, Decimal("-1500.00"), -0.5, 0, 42])
def test_numbers_stay_numbers_even_when_negative(number):
    """Our code passes amounts and counts as numbers; only typed text is escaped (see the module docstring)."""
    assert safe_cell(number) == number


def test_none_and_booleans():
    assert (safe_cell(None), safe_cell(True), safe_cell(False)) == ("", 1, 0)


def test_the_document_starts_with_a_bom_and_reads_back_as_written():
    text = to_text(["姓名", "金额"], [["=1+1", Decimal("-12.50")], ["李四", 3]])
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows == [["姓名", "金额"], ["'=1+1", "-12.50"], ["李四", "3"]]


# ------------------------------------------------------------------ the exports that use it

def _rows(response) -> list[list[str]]:
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_the_complaints_csv_speaks_the_user_s_language_and_is_formula_safe(login, world):
    from tests.factories import make_client

    client = make_client(world.manager1, name="-张三")
    db.session.commit()
    login("manager1").post(f"/complaints/new?client={client.id}", data={
        "token": "c1", "complainant_name": "=HYPERLINK(\"http://x\",\"y\")", "complainant_contact": "",
        "channel": "regulator", "category": "fees", "severity": "serious", "facts": "佣金"})
    rows = _rows(login("admin").get("/complaints?tab=team&format=csv"))
    header, row = rows[0], dict(zip(rows[0], rows[1]))
    assert header[:4] == ["编号", "状态", "严重程度", "投诉渠道"]
    assert (row["投诉渠道"], row["状态"], row["严重程度"]) == ("12386热线或监管转办", "受理登记", "严重")
    assert row["投诉人"] == "'=HYPERLINK(\"http://x\",\"y\")" and row["客户"] == "'-张三"
    assert "拜访" not in ",".join(header)


def test_the_complaints_csv_follows_an_english_user(login, world):
    world.admin.locale = "en"
    db.session.commit()
    rows = _rows(login("admin").get("/complaints?tab=overdue&format=csv"))
    assert rows[0][:4] == ["Number", "Status", "Severity", "Complaint channel"]


def test_the_recommendations_csv_labels_the_match_result(login, world):
    from crm.models import Product, Recommendation
    from tests.factories import make_client

    client = make_client(world.manager1, name="@李四")
    product = Product(code="F001", name="+稳健一号", kind="fund", risk=2, active=True)
    db.session.add(product)
    db.session.flush()
    db.session.add(Recommendation(client_id=client.id, product_id=product.id, manager_id=world.manager1.id,
                                  outcome="mismatch", investor_type="ordinary", client_level=1, product_risk=2,
                                  warning_given=True, confirmation_method="signed_form", confirmation_ref="-001"))
    db.session.commit()
    rows = _rows(login("admin").get("/compliance/recommendations?format=csv"))
    row = dict(zip(rows[0], rows[1]))
    assert "匹配结论" in rows[0] and "拜访结果" not in rows[0]
    assert row["匹配结论"] == "不匹配（投资者已确认）"
    assert (row["客户"], row["产品"], row["确认编号"]) == ("'@李四", "'+稳健一号", "'-001")
    assert row["投资者类型"] == "普通投资者"


# ---------------------------------------------------------------- every bulk download is on the audit trail

def _exports(action: str) -> list:
    from crm.models import AuditEvent

    return db.session.query(AuditEvent).filter_by(action=action).all()


def test_downloading_the_audit_trail_records_who_and_with_which_filters(login, world):
    admin = login("admin")
    response = admin.get("/admin/audit", query_string={
        "format": "csv", "action": "reveal", "user": world.manager1.id, "since": "2026-11-01", "until": "2026-11-30"})
    assert response.status_code == 200
    response.get_data()  # the streamed body, to the end
    (event,) = _exports("export.audit")
    assert (event.actor_id, event.source) == (world.admin.id, "web")
    assert event.params == {"action": "reveal", "user_id": world.manager1.id, "client_id": None, "client_name": "",
                            "since_day": "2026-11-01", "until_day": "2026-11-30"}
    page = admin.get("/admin/audit?action=export").get_data(as_text=True)
    assert "下载审计日志（CSV）" in page and "2026-11-01" in page


def test_downloading_the_complaints_records_the_tab_and_the_count(login, world):
    assert login("admin").get("/complaints?tab=overdue&format=csv").status_code == 200
    (event,) = _exports("export.complaints")
    assert event.actor_id == world.admin.id and event.params == {"tab": "overdue", "rows": 0}


def test_downloading_the_recommendations_records_the_filters(login, world):
    response = login("admin").get("/compliance/recommendations?format=csv&outcome=mismatch&since=2026-01-01&until=bad")
    assert response.status_code == 200
    (event,) = _exports("export.recommendations")
    assert event.actor_id == world.admin.id
    assert event.params == {"outcome": "mismatch", "product_id": None, "since_day": "2026-01-01", "until_day": "",
                            "rows": 0}


# ---------------------------------------------------------------- every export × every dangerous start

# Writing CSV or answering with a CSV type anywhere but crm/services/csv_export.py.
_WRITES_CSV = re.compile(r"""(mimetype|content_type|Content-Type)["']?\s*[=:]\s*["'][^"']*csv|csv\.(writer|DictWriter)""")

# Each CSV download of the app: (path, the first headers in Chinese, the same in English).
EXPORTS = {
    "/complaints?tab=team&format=csv": (["编号", "状态", "严重程度", "投诉渠道"],
                                        ["Number", "Status", "Severity", "Complaint channel"]),
    "/admin/audit?format=csv": (["时间", "操作人", "操作"], ["When", "Who", "Action"]),
    "/compliance/recommendations?format=csv": (["时间", "客户", "客户经理", "产品"],
                                               ["Time", "Client", "Manager", "Product"]),
}
PAYLOADS = ['=HYPERLINK("http://x")', "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1"]


def _type_everywhere(login, world, payload: str) -> None:
    """Put the payload into every text an export shows, through the forms (which trim) and services (which do not)."""
    from crm.domain.questionnaire_text import parse_questionnaire
    from crm.models import Product
    from crm.services import suitability
    from crm.services.suitability import Confirmation
    from tests.factories import make_client
    from tests.test_suitability_flows import SMALL_QUESTIONNAIRE, answer_form

    client = make_client(world.manager1, name=payload)          # the capture service keeps it as typed
    db.session.commit()
    admin = login("admin")
    # The audit trail: a team named by the payload (detail), a reveal on the client (client column).
    assert admin.post("/admin/teams", data={"name": payload}).status_code in (200, 303)
    manager = login("manager1")
    assert manager.post(f"/clients/{client.id}/reveal", data={"field": "mobile"}).status_code == 200
    # A complaint: complainant typed in the form, about the client.
    assert manager.post(f"/complaints/new?client={client.id}", data={
        "token": "c", "complainant_name": payload, "channel": "outlet", "category": "fees",
        "severity": "normal", "facts": "佣金"}).status_code == 303
    # A recommendation: product named in the admin form; confirmation and recording typed by the manager.
    questionnaire = suitability.create_questionnaire(parse_questionnaire(SMALL_QUESTIONNAIRE), None)
    db.session.commit()
    manager.post(f"/clients/{client.id}/assessment", data={
        "token": "a", **answer_form(questionnaire, {1: "10%以内", 2: "没有"})})  # C2
    assert admin.post("/admin/products/new", data={"code": "F001", "name": payload, "kind": "fund",
                                                   "risk": "4", "active": "y"}).status_code == 303
    product = db.session.execute(sa.select(Product)).scalar_one()
    assert manager.post(f"/clients/{client.id}/recommendations/new", data={
        "product_id": product.id, "token": "r", "warning_given": "y", "confirmation_method": "signed_form",
        "confirmation_ref": payload, "recording_ref": payload,
        "confirmed_at": "2026-01-05T10:00"}).status_code == 303
    # The services keep a leading tab or carriage return, which the forms trim.
    db.session.refresh(client)
    suitability.recommend(client, product, world.manager1, Confirmation(True, "signed_form", payload, utcnow()),
                          recording_ref=payload)
    db.session.commit()


@pytest.mark.parametrize("payload", PAYLOADS)
def test_no_export_writes_a_cell_a_spreadsheet_would_run(login, world, payload):
    _type_everywhere(login, world, payload)
    admin = login("admin")
    for path, (chinese, _english) in EXPORTS.items():
        rows = _rows(admin.get(path))
        assert rows[0][:len(chinese)] == chinese, path
        assert len(rows) > 1, path
        cells = [cell for row in rows for cell in row]
        for cell in cells:
            assert not cell.startswith(FORMULA_STARTS), (path, cell)
        # The payload reached the export, neutralised, as typed (services) and trimmed (forms).
        assert "'" + payload in cells, (path, payload)
        assert "'" + payload.strip() in cells, (path, payload)


@pytest.mark.parametrize("path", list(EXPORTS))
def test_every_export_has_headers_in_the_users_language(login, world, path):
    chinese, english = EXPORTS[path]
    assert _rows(login("admin").get(path))[0][:len(chinese)] == chinese
    world.admin.locale = "en"
    db.session.commit()
    assert _rows(login("admin").get(path))[0][:len(english)] == english


def test_every_csv_download_of_the_app_is_listed_here_and_goes_through_the_one_writer(app, login, world):
    """Any GET route answering CSV must be in EXPORTS and start with csv_export's BOM; no other module writes CSV."""
    import pathlib

    root = pathlib.Path(__file__).resolve().parent.parent / "crm"
    writers = [str(p.relative_to(root)) for p in root.rglob("*.py")
               if p.name != "csv_export.py" and _WRITES_CSV.search(p.read_text())]
    assert writers == [], writers
    admin = login("admin")
    found = set()
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments:
            continue
        for query in ("format=csv", "tab=team&format=csv"):
            response = admin.get(f"{rule.rule}?{query}")
            if response.mimetype == "text/csv":
                assert response.get_data(as_text=True).startswith("\ufeff"), rule.rule
                found.add(f"{rule.rule}?{query}")
    assert {p.split("?")[0] for p in found} == {p.split("?")[0] for p in EXPORTS}

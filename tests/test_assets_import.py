"""Asset snapshot import (CLI, admin upload, service), manual entry and tier recompute."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event

from crm.domain import asset_csv
from crm.domain.refusals import RuleError
from crm.extensions import db
from crm.models import AssetSnapshot, AuditEvent, Client, JobRun, Role, Tier, TierChange, utcnow
from crm.routes import refusals
from crm.services import assets, tiers
from crm.services.assets import import_assets
from crm.services.tiers import recompute_tiers
from crm.services.users import create_user as make_user
from tests.factories import PASSWORD, make_client, next_mobile

TODAY = date(2026, 11, 25)
SILVER_FEN = 50_000_000  # 银卡 threshold: 500,000 yuan


def csv_bytes(*lines: str, encoding: str = "utf-8") -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def tier_id(name: str) -> int:
    return db.session.execute(sa.select(Tier.id).where(Tier.name == name)).scalar_one()


def snapshot_rows() -> list[tuple]:
    return sorted(db.session.execute(sa.select(
        AssetSnapshot.client_id, AssetSnapshot.as_of, AssetSnapshot.total_assets_fen)).all())


def count(model) -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one()


@pytest.fixture
def people(world):
    """Three clients of manager1: one known by mobile, one by client number, one by both."""
    by_mobile = make_client(world.manager1, name="张一", mobile="13800138001")
    by_number = make_client(world.manager1, name="张二", mobile="13800138002")
    by_number.account_no = "880001"
    both = make_client(world.manager1, name="张三", mobile="13800138003")
    both.account_no = "880003"
    db.session.commit()
    return by_mobile, by_number, both


def imported(data: bytes, actor=None, **kwargs):
    result = import_assets(data, actor, today=TODAY, **kwargs)
    if result.ok:
        db.session.commit()
    else:
        db.session.rollback()
    return result


# --------------------------------------------------------------------------- good files


def test_a_good_file_imports_by_mobile_and_by_client_number(app, people, world):
    by_mobile, by_number, both = people
    result = imported(csv_bytes(
        "手机号,客户号,日期,总资产(元)",
        "138 0013 8001,,2026-11-20,\"1,234.50\"",
        ",880001,2026/11/20,500000",
        "+86 13800138003,880003,20261120,0.05",
        ",880003,2026/3/5,12",
    ), world.admin)
    assert result.ok, result.errors
    assert (result.rows, result.clients, result.inserted, result.updated, result.unchanged) == (4, 3, 4, 0, 0)
    assert snapshot_rows() == [
        (by_mobile.id, date(2026, 11, 20), 123_450),
        (by_number.id, date(2026, 11, 20), 50_000_000),
        (both.id, date(2026, 3, 5), 1200),
        (both.id, date(2026, 11, 20), 5),
    ]
    snapshot = db.session.execute(sa.select(AssetSnapshot).limit(1)).scalar_one()
    assert snapshot.source == "import" and snapshot.created_by_id == world.admin.id
    assert db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "assets.import")).scalar_one()


def test_english_headers_in_any_order_and_extra_columns(app, people):
    by_mobile, by_number, _both = people
    result = imported(csv_bytes(
        "Name,Total_Assets,AS_OF,Account_No,Mobile",
        "张一,100.1,2026-11-01,,13800138001",
        "张二,200,2026-11-01,880001,",
    ))
    assert result.ok, result.errors
    assert snapshot_rows() == [(by_mobile.id, date(2026, 11, 1), 10_010),
                               (by_number.id, date(2026, 11, 1), 20_000)]


def test_a_gb18030_file_from_excel_imports(app, people):
    by_mobile, _, _ = people
    result = imported(csv_bytes("手机号码,资金账号,日期,总资产（元）", "13800138001,,2026年11月2日,88.80",
                                encoding="gb18030"))
    assert result.ok, result.errors
    assert snapshot_rows() == [(by_mobile.id, date(2026, 11, 2), 8880)]


def test_a_utf8_file_with_a_byte_order_mark_imports(app, people):
    _, by_number, _ = people
    result = imported(b"\xef\xbb\xbf" + csv_bytes("客户号,日期,总资产", "880001,2026-11-03,1"))
    assert result.ok, result.errors
    assert snapshot_rows() == [(by_number.id, date(2026, 11, 3), 100)]


# --------------------------------------------------------------------------- bad files


def test_bad_rows_are_all_reported_with_their_line_and_nothing_is_written(app, people):
    data = csv_bytes(
        "mobile,client_no,date,assets",          # 1
        ",880001,2026-11-01,100",                 # 2  good
        ",,2026-11-01,100",                       # 3  no client key
        "12345,,2026-11-01,100",                  # 4  bad mobile
        "13999999999,,2026-11-01,100",            # 5  unknown mobile
        "13800138001,880001,2026-11-01,100",      # 6  mobile and number of different clients
        "13800138001,,2026-13-01,100",            # 7  bad date
        "13800138001,,2099-01-01,100",            # 8  future date
        "13800138001,,2026-11-02,12.345",         # 9  three decimals
        "13800138001,,2026-11-03,-5",             # 10 negative
        "",                                       # 11 blank: skipped, still counted as a line
        "13800138002,,2026-11-01,300",            # 12 same client and date as line 2
        "13800138003,,yesterday,abc",             # 13 two errors on one line
        ",NO-404,2026-11-01,1",                   # 14 unknown client number
        "13800138003,,,",                         # 15 date and amount missing
        "13800138001,,2026-11-01,100",            # 16 good
    )
    result = imported(data)
    assert not result.ok
    assert [(e.line, e.code) for e in result.errors] == [
        (3, "assets.no_client_key"),
        (4, "assets.bad_mobile"),
        (5, "assets.unknown_client"),
        (6, "assets.client_mismatch"),
        (7, "assets.bad_date"),
        (8, "assets.future_date"),
        (9, "assets.bad_amount"),
        (10, "assets.negative_amount"),
        (12, "assets.duplicate"),
        (13, "assets.bad_date"),
        (13, "assets.bad_amount"),
        (14, "assets.unknown_client"),
        (15, "assets.missing_date"),
        (15, "assets.missing_amount"),
    ]
    assert result.error_count == 14
    params = {(e.line, e.code): e.detail for e in result.errors}
    assert params[(12, "assets.duplicate")] == {"first_line": 2}
    assert params[(4, "assets.bad_mobile")] == {"value": "12345"}
    assert params[(6, "assets.client_mismatch")] == {"mobile": "13800138001", "client_no": "880001"}
    assert params[(14, "assets.unknown_client")] == {"key": "client_no", "value": "NO-404"}
    with force_locale("en"):
        assert refusals.text(result.errors[6]) == "12.345 is not an amount in yuan with at most two decimals."
    assert snapshot_rows() == [] and count(TierChange) == 0 and count(AuditEvent) == 0


def test_file_and_header_errors(app, people):
    def codes(data: bytes) -> list[tuple[int, str]]:
        return [(e.line, e.code) for e in imported(data).errors]

    assert codes(b"") == [(0, "assets.empty_file")]
    assert codes(b"\r\n \r\n") == [(0, "assets.empty_file")]
    assert codes(csv_bytes("mobile,date,assets")) == [(0, "assets.empty_file")]
    assert codes(b"\xff\xfe\x00m\x00o\x00") == [(0, "assets.encoding")]
    assert codes(csv_bytes("mobile,assets", "13800138001,1")) == [(1, "assets.missing_column")]
    assert codes(csv_bytes("date,assets", "2026-11-01,1")) == [(1, "assets.missing_column")]
    assert codes(csv_bytes("mobile,手机号,date,assets", "13800138001,13800138001,2026-11-01,1")) == [
        (1, "assets.duplicate_column")]
    assert codes(csv_bytes("mobile,date,assets", '13800138001,2026-11-01,"1')) == []  # unclosed quote at EOF
    assert snapshot_rows() == [(people[0].id, date(2026, 11, 1), 100)]


def test_the_error_list_is_capped_but_counted(app, people):
    lines = ["mobile,date,assets"] + ["13800138001,not-a-date,1"] * 250
    result = imported(csv_bytes(*lines))
    assert result.error_count == 250 and len(result.errors) == asset_csv.MAX_ERRORS
    assert result.errors[0].line == 2


# --------------------------------------------------------------------------- idempotence, updates


def test_importing_the_same_file_twice_adds_nothing(app, people):
    data = csv_bytes("mobile,client_no,date,assets", "13800138001,,2026-11-01,600000", ",880001,2026-11-01,5")
    first = imported(data)
    assert (first.inserted, first.updated, first.unchanged, first.tier_changes) == (2, 0, 0, 2)
    before = (snapshot_rows(), count(TierChange), count(AuditEvent))
    second = imported(data)
    assert (second.rows, second.inserted, second.updated, second.unchanged, second.tier_changes) == (2, 0, 0, 2, 0)
    assert (snapshot_rows(), count(TierChange), count(AuditEvent)) == before


def test_a_changed_amount_replaces_the_snapshot(app, people, world):
    imported(csv_bytes("mobile,date,assets", "13800138001,2026-11-01,100", "13800138001,2026-11-02,100"))
    result = imported(csv_bytes("mobile,date,assets", "13800138001,2026-11-01,150", "13800138001,2026-11-02,100"),
                      world.admin, source="backoffice")
    assert (result.inserted, result.updated, result.unchanged) == (0, 1, 1)
    assert [r[2] for r in snapshot_rows()] == [15_000, 10_000]
    changed = db.session.execute(sa.select(AssetSnapshot).where(AssetSnapshot.as_of == date(2026, 11, 1))).scalar_one()
    assert changed.source == "backoffice" and changed.created_by_id == world.admin.id


# --------------------------------------------------------------------------- tiers


def test_crossing_the_silver_threshold_changes_the_tier_once(app, people):
    client, _, untouched = people
    imported(csv_bytes("mobile,date,assets", "13800138001,2026-11-01,499999.99"))
    db.session.expire_all()
    assert client.tier_id == tier_id("普通")
    result = imported(csv_bytes("mobile,date,assets", "13800138001,2026-11-02,500000.00"))
    assert result.tier_changes == 1
    db.session.expire_all()
    assert client.tier_id == tier_id("银卡")
    change = db.session.execute(sa.select(TierChange).where(TierChange.client_id == client.id)
                                .order_by(TierChange.id.desc()).limit(1)).scalar_one()
    assert (change.from_tier_id, change.to_tier_id, change.assets_fen, change.source) == (
        tier_id("普通"), tier_id("银卡"), SILVER_FEN, "import")
    assert [c.to_tier.name for c in tiers.tier_changes_of(client)] == ["银卡", "普通"]
    # Re-importing, or importing an older date, leaves the tier of the latest snapshot alone.
    again = imported(csv_bytes("mobile,date,assets", "13800138001,2026-11-02,500000.00",
                               "13800138001,2026-10-01,3"))
    assert again.tier_changes == 0 and count(TierChange) == 2
    db.session.expire_all()
    assert client.tier_id == tier_id("银卡") and untouched.tier_id is None


def test_recompute_of_all_clients_follows_new_thresholds(app, people):
    client, other, no_snapshots = people
    imported(csv_bytes("mobile,client_no,date,assets", "13800138001,,2026-11-01,300000", ",880001,2026-11-01,10"))
    assert recompute_tiers() == 0
    db.session.execute(sa.update(Tier).where(Tier.name == "银卡").values(min_assets_fen=20_000_000))
    assert recompute_tiers(source="thresholds") == 1
    db.session.commit()
    db.session.expire_all()
    assert (client.tier_id, other.tier_id, no_snapshots.tier_id) == (tier_id("银卡"), tier_id("普通"), None)


def _bulk_clients(owner, n: int) -> list[str]:
    mobiles = [next_mobile() for _ in range(n)]
    db.session.execute(sa.insert(Client), [
        {"name": f"客户{i}", "mobile": m, "mobile_reversed": m[::-1], "owner_id": owner.id,
         "created_by_id": owner.id} for i, m in enumerate(mobiles)])
    db.session.commit()
    return mobiles


def test_import_runs_a_few_statements_whatever_the_number_of_rows(app, world):
    mobiles = _bulk_clients(world.manager1, 500)
    statements: list[str] = []

    def listener(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    def measure(rows: list[str]) -> int:
        statements.clear()
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            result = imported(csv_bytes("mobile,date,assets", *rows))
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert result.ok, result.errors
        return len(statements)

    small = measure([f"{m},2026-11-01,{i}" for i, m in enumerate(mobiles[:50])])
    large = measure([f"{m},2026-11-02,{i}" for i, m in enumerate(mobiles)])
    assert count(AssetSnapshot) == 550 and count(TierChange) == 500
    assert small <= 20 and large <= 20, statements
    assert large == small


# --------------------------------------------------------------------------- CLI


def test_cli_imports_a_good_file_and_exits_0(runner, people, tmp_path):
    path = tmp_path / "assets.csv"
    path.write_bytes(csv_bytes("mobile,date,assets", "13800138001,2026-11-01,600000"))
    result = runner.invoke(args=["import-assets", str(path)])
    assert result.exit_code == 0, result.output
    assert "1 new" in result.output and "1 tier changes" in result.output
    assert count(AssetSnapshot) == 1


def test_cli_lists_errors_exits_1_and_writes_nothing(runner, people, tmp_path):
    path = tmp_path / "assets.csv"
    path.write_bytes(csv_bytes("mobile,date,assets", "13800138001,2026-11-01,1", "13800138001,2026-11-31,2"))
    result = runner.invoke(args=["import-assets", str(path)])
    assert result.exit_code == 1
    assert "line 3: 2026-11-31 is not a date" in result.output
    assert count(AssetSnapshot) == 0


# --------------------------------------------------------------------------- upload page


def upload(c, data: bytes, name: str = "assets.csv"):
    return c.post("/admin/assets", data={"file": (io.BytesIO(data), name)},
                  content_type="multipart/form-data")


def test_admin_uploads_a_file_and_sees_the_counts(login, people):
    admin = login("admin")
    page = admin.get("/admin/assets")
    assert page.status_code == 200 and "总资产(元)" in page.get_data(as_text=True)
    response = upload(admin, csv_bytes("mobile,date,assets", "13800138001,2026-11-01,600000"))
    assert response.status_code == 200
    assert count(AssetSnapshot) == 1


def test_admin_sees_each_bad_line_and_nothing_is_imported(login, people):
    admin = login("admin")
    response = upload(admin, csv_bytes("mobile,date,assets", "13800138001,2026-11-01,1", "13800138001,2026-11-02,1.234"))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert '<td class="num">3</td>' in page and "1.234" in page
    assert count(AssetSnapshot) == 0


def test_an_upload_without_a_file_or_of_the_wrong_type_is_refused(login, people):
    admin = login("admin")
    assert admin.post("/admin/assets", data={}, content_type="multipart/form-data").status_code == 422
    assert upload(admin, b"PK\x03\x04", name="assets.xlsx").status_code == 422


def test_managers_and_leads_cannot_import(login, people):
    for username in ("manager1", "lead"):
        c = login(username)
        assert c.get("/admin/assets").status_code == 403
        assert upload(c, csv_bytes("mobile,date,assets", "13800138001,2026-11-01,1")).status_code == 403
    assert count(AssetSnapshot) == 0


@pytest.fixture
def admin_client(login, people):
    """The admin, signed in once for all the examples of a property test."""
    return login("admin")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(junk=st.binary(max_size=600))
def test_junk_uploads_get_a_clear_error_never_a_500(admin_client, junk):
    response = upload(admin_client, junk)
    assert response.status_code in (200, 422)
    if response.status_code == 422:
        assert 'role="alert"' in response.get_data(as_text=True)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(list(",\"\r\n\x00 -/.0123456789日期手机号总资产mobiledateassets")),
                    max_size=200))
def test_the_service_never_raises_on_csv_like_junk(app, people, text):
    result = import_assets(text.encode("utf-8"), None, today=TODAY)
    db.session.rollback()
    assert result.ok or result.errors


# --------------------------------------------------------------------------- manual entry


def test_the_owner_adds_a_snapshot_and_the_tier_follows(login, people):
    client = people[0]
    c = login("manager1")
    assert c.get(f"/clients/{client.id}/assets").status_code == 200
    response = c.post(f"/clients/{client.id}/assets", data={"as_of": "2026-11-01", "amount": "520,000.00"})
    assert response.status_code == 303
    assert snapshot_rows() == [(client.id, date(2026, 11, 1), 52_000_000)]
    db.session.expire_all()
    assert client.tier_id == tier_id("银卡")
    change = db.session.execute(sa.select(TierChange)).scalar_one()
    assert change.source == "manual" and change.to_tier_id == tier_id("银卡")
    page = c.get(f"/clients/{client.id}/assets").get_data(as_text=True)
    assert "520,000.00" in page and "银卡" in page
    # The same amount again changes nothing; a new amount for that date replaces it.
    c.post(f"/clients/{client.id}/assets", data={"as_of": "2026-11-01", "amount": "520000"})
    c.post(f"/clients/{client.id}/assets", data={"as_of": "2026-11-01", "amount": "1000"})
    assert snapshot_rows() == [(client.id, date(2026, 11, 1), 100_000)]
    assert count(TierChange) == 2


def test_manual_entry_refuses_bad_amounts_and_future_dates(login, people):
    client = people[0]
    c = login("manager1")
    tomorrow = (date.today() + timedelta(days=2)).isoformat()
    for data in ({"as_of": "2026-11-01", "amount": "-1"}, {"as_of": "2026-11-01", "amount": "1.234"},
                 {"as_of": tomorrow, "amount": "1"}, {"as_of": "", "amount": "1"}):
        assert c.post(f"/clients/{client.id}/assets", data=data).status_code == 422, data
    assert count(AssetSnapshot) == 0


@pytest.mark.parametrize("as_of, fen, code, field", [
    (TODAY, -1, "assets.negative_amount", "amount"),
    (TODAY, 10**17 + 1, "assets.amount_too_large", "amount"),
    (TODAY + timedelta(days=1), 1, "assets.future_date", "as_of"),
    (date(1989, 12, 31), 1, "assets.bad_date", "as_of"),
])
def test_the_manual_entry_service_refuses_on_the_field_at_fault(app, people, world, as_of, fen, code, field):
    with pytest.raises(RuleError) as refused:
        assets.add_snapshot(people[0], world.manager1, as_of, fen, today=TODAY)
    assert (refused.value.code, refused.value.field) == (code, field)
    with force_locale("en"):
        assert refusals.text(refused.value)  # words for every refusal, its parameters filled in
    assert count(AssetSnapshot) == 0 and count(TierChange) == 0


def test_a_refused_manual_amount_is_told_in_yuan_not_fen(app, people, world):
    with pytest.raises(RuleError) as refused:
        assets.add_snapshot(people[0], world.manager1, TODAY, -100, today=TODAY)
    with force_locale("en"):
        assert "-1.00" in refusals.text(refused.value) and "-100" not in refusals.text(refused.value)


def test_another_managers_client_is_not_found(login, people):
    client = people[0]
    c = login("othermanager")
    assert c.get(f"/clients/{client.id}/assets").status_code == 404
    assert c.post(f"/clients/{client.id}/assets", data={"as_of": "2026-11-01", "amount": "1"}).status_code == 404
    assert count(AssetSnapshot) == 0


def test_a_tier_change_from_an_import_shows_on_the_client_timeline(login, people):
    client = people[0]
    imported(csv_bytes("mobile,date,assets", "13800138001,2026-11-01,2500000"))
    page = login("manager1").get(f"/clients/{client.id}").get_data(as_text=True)
    assert "金卡" in page and "2,500,000.00" in page


# --------------------------------------------------------------------------- streaming


class PieceReader(io.BytesIO):
    """A file that notes the largest piece asked for: the import must never read it whole."""

    largest = 0

    def read(self, size=-1):
        self.largest = max(self.largest, size if size is not None and size >= 0 else 10**12)
        return super().read(size)


def test_a_large_file_is_read_in_pieces(app, people):
    lines = ["mobile,client_no,date,assets"] + ["13800138001,,2026-11-01,100"]
    lines += [f",880001,2020-01-01,{i}" for i in range(1)] + ["13800138003,,2026-11-02,5"]
    padding = ["", ",,,"] * 80_000  # blank rows, skipped: about 3 MB
    stream = PieceReader(csv_bytes(*lines, *padding))
    result = import_assets(stream, None, today=TODAY)
    db.session.commit()
    assert result.ok, result.errors
    assert (result.rows, result.inserted) == (3, 3)
    assert 0 < stream.largest <= 1024 * 1024


def test_an_encoding_is_judged_on_the_whole_file_not_its_first_piece(app, people):
    ascii_rows = ["13800138001,2026-11-01,100,x"] * 60_000  # about 1.8 MB before the first Chinese
    data = csv_bytes("mobile,date,assets,备注", *ascii_rows[:1], *[",,,"] * 60_000,
                     "13800138003,2026-11-02,5,张三", encoding="gb18030")
    result = imported(data)
    assert result.ok, result.errors
    assert snapshot_rows() == [(people[0].id, date(2026, 11, 1), 10_000), (people[2].id, date(2026, 11, 2), 500)]


def test_a_quoted_cell_spanning_lines_and_pieces_is_one_record(app, people):
    data = csv_bytes("mobile,date,assets,note", *[",,,"] * 40_000,
                     '13800138001,2026-11-01,100,"a note' + "\r\n" * 3 + 'on four lines"')
    result = imported(data)
    assert result.ok, result.errors
    assert result.rows == 1 and snapshot_rows() == [(people[0].id, date(2026, 11, 1), 10_000)]


def test_errors_beyond_the_kept_ones_are_counted_in_line_order(app, people):
    lines = ["mobile,date,assets"] + [f"1390000{i:04d},2026-11-01,1" for i in range(900)]
    lines += ["13800138001,not-a-date,1"] * 10
    result = imported(csv_bytes(*lines))
    assert result.error_count == 910 and len(result.errors) == asset_csv.MAX_ERRORS
    assert [e.line for e in result.errors] == list(range(2, 2 + asset_csv.MAX_ERRORS))
    assert {e.code for e in result.errors} == {"assets.unknown_client"}
    assert snapshot_rows() == []


# --------------------------------------------------------------------------- one import at a time


HOLDER = """
import sys
from crm import create_app
from crm.extensions import db
from crm.models import User
from crm.services import assets

app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": sys.argv[1], "RATELIMIT_STORAGE_URI": "memory://"})
with app.app_context():
    with assets.one_import_at_a_time(db.session.get(User, int(sys.argv[2]))):
        print("holding", flush=True)
        sys.stdin.readline()
"""


def test_a_second_import_by_the_same_admin_in_another_process_is_refused(app, login, people, world, database_url):
    import subprocess
    import sys

    holder = subprocess.Popen([sys.executable, "-c", HOLDER, database_url, str(world.admin.id)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        admin = login("admin")
        refused = upload(admin, csv_bytes("mobile,date,assets", "13800138001,2026-11-01,600000"))
        assert refused.status_code == 409
        assert "仍在进行" in refused.get_data(as_text=True)
        assert count(AssetSnapshot) == 0
    finally:
        holder.communicate("\n", timeout=30)
    assert holder.returncode == 0
    done = upload(admin, csv_bytes("mobile,date,assets", "13800138001,2026-11-01,600000"))
    assert done.status_code == 200 and count(AssetSnapshot) == 1
    run = db.session.execute(sa.select(JobRun).where(JobRun.job == assets.IMPORT_JOB)).scalar_one()
    assert run.run_key == f"user:{world.admin.id}" and run.finished_at is not None and run.outcome == "done"


def test_another_users_import_is_not_held_up(app, login, people, world):
    other = make_user("admin2", "第二管理员", PASSWORD, Role.ADMIN)
    db.session.commit()
    with assets.one_import_at_a_time(other):
        response = upload(login("admin"), csv_bytes("mobile,date,assets", "13800138001,2026-11-01,1"))
    assert response.status_code == 200 and count(AssetSnapshot) == 1


def test_a_claim_left_by_a_dead_worker_lapses_after_the_lease(app, login, people, world):
    db.session.add(JobRun(job=assets.IMPORT_JOB, run_key=f"user:{world.admin.id}", owner="gone:1",
                          started_at=utcnow() - assets.IMPORT_LEASE - timedelta(minutes=1)))
    db.session.commit()
    response = upload(login("admin"), csv_bytes("mobile,date,assets", "13800138001,2026-11-01,1"))
    assert response.status_code == 200 and count(AssetSnapshot) == 1


def test_a_refused_file_frees_the_slot(app, login, people, world):
    admin = login("admin")
    assert upload(admin, csv_bytes("mobile,date,assets", "13800138001,2026-13-01,1")).status_code == 422
    assert upload(admin, csv_bytes("mobile,date,assets", "13800138001,2026-11-01,1")).status_code == 200
    assert count(AssetSnapshot) == 1


def test_a_claim_whose_worker_on_this_host_is_gone_is_free_at_once(app, login, people, world):
    import socket
    import subprocess

    gone = subprocess.Popen(["true"])
    gone.wait()
    db.session.add(JobRun(job=assets.IMPORT_JOB, run_key=f"user:{world.admin.id}",
                          owner=f"{socket.gethostname()}:{gone.pid}:abcd", started_at=utcnow()))
    db.session.commit()
    response = upload(login("admin"), csv_bytes("mobile,date,assets", "13800138001,2026-11-01,1"))
    assert response.status_code == 200 and count(AssetSnapshot) == 1


def test_a_claim_by_a_live_process_is_respected(app, login, people, world):
    import os
    import socket

    db.session.add(JobRun(job=assets.IMPORT_JOB, run_key=f"user:{world.admin.id}",
                          owner=f"{socket.gethostname()}:{os.getpid()}:abcd", started_at=utcnow()))
    db.session.commit()
    response = upload(login("admin"), csv_bytes("mobile,date,assets", "13800138001,2026-11-01,1"))
    assert response.status_code == 409 and count(AssetSnapshot) == 0

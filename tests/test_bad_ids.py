"""Ids too large for the id columns, non-ASCII digits and out-of-range dates in URLs, queries and forms: never a 500."""
from __future__ import annotations

import pathlib
import re

import pytest
import sqlalchemy as sa
from werkzeug.routing import IntegerConverter

from crm.domain.formats import MAX_ID, parse_id
from crm.extensions import db
from tests.factories import make_client

HUGE = "9" * 25


@pytest.mark.parametrize("text, expected", [
    ("1", 1), ("42", 42), (" 7 ", 7), (str(MAX_ID), MAX_ID),
    (str(MAX_ID + 1), None), (HUGE, None), ("0", None), ("-1", None), ("²", None), ("١٢", None),
    ("1e3", None), ("", None), (None, None), ("12a", None),
])
def test_parse_id_accepts_only_ascii_digits_of_a_64_bit_id(text, expected):
    assert parse_id(text) == expected


@pytest.mark.parametrize("user, url", [
    ("manager1", f"/clients/{HUGE}"),
    ("manager1", f"/followups/{HUGE}"),
    ("manager1", f"/clients/{HUGE}/visits/new"),
    ("manager1", "/clients/{client}/visits/new?followup=" + HUGE),
    ("manager1", "/clients/{client}/visits/new?followup=²"),
    ("manager1", "/complaints/new?client=" + HUGE),
    ("manager1", "/complaints/new?client=²"),
    ("manager1", "/clients/{client}/recommendations/new?visit=" + HUGE),
    ("lead", "/team?assignee=" + HUGE),
    ("lead", "/team?assignee=²&page=²"),
    ("lead", "/team?page=" + HUGE),
    ("lead", "/plans?owner=" + HUGE),
    ("admin", "/admin/audit?user=" + HUGE),
    ("admin", "/admin/audit?client=²&before=" + HUGE),
    ("admin", "/admin/audit?until=9999-12-31"),
    ("admin", "/admin/audit?since=0001-01-01&format=csv"),
    ("admin", "/admin/outbox?before=" + HUGE),
    ("admin", "/compliance/recommendations?until=9999-12-31&since=0001-01-01"),
    ("admin", "/compliance/recommendations?product=" + HUGE),
])
def test_bad_ids_and_dates_never_answer_a_server_error(login, world, user, url):
    client = make_client(world.manager1, name="张三")
    db.session.commit()
    response = login(user).get(url.format(client=client.id))
    assert response.status_code in (200, 404), (url, response.status_code)


def test_a_bad_date_in_the_audit_filter_is_explained_not_dropped_silently(login, world):
    page = login("admin").get("/admin/audit?until=9999-12-31").get_data(as_text=True)
    assert "YYYY-MM-DD" in page or "2026-12-01" in page


def test_handing_over_huge_or_non_ascii_ids_changes_nothing(login, world):
    response = login("lead").post("/team", data={"followup_ids": [HUGE, "²"],
                                                 "assignee_id": str(world.manager2.id)})
    assert response.status_code in (200, 303, 422)


# ---------------------------------------------------------------- every route of the URL map

ROUTES = pathlib.Path(__file__).resolve().parent.parent / "crm" / "routes"
# A path segment like <int:client_id> or <int(min=1):x>.
_SEGMENT = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
# Ids a converter accepts but that match no row (MAX_ID), and ids it refuses (too large for an id column).
PATH_VALUES = [HUGE, str(MAX_ID + 1), str(MAX_ID)]
QUERY_VALUES = [HUGE, "²"]
# Keyset cursors carry an id after a date or time (the client list's "<time>_<id>", the plans' "<day>.<id>").
CURSOR_VALUES = [f"{stamp}{sep}{ident}" for stamp in ("2026-01-01", "2026-01-01T00:00:00+00:00") for sep in "_."
                 for ident in (HUGE, str(MAX_ID + 1), "²")]
CURSORS = {"after", "before"}
# The query parameters that must be found by reading the routes (the finding's list): a sanity check
# that the source scan below still sees how routes read their arguments.
MUST_FIND = {"outlet", "assignee", "owner", "user", "client", "before", "after", "page", "followup", "visit",
             "product"}


def _parameters_read_in(text: str) -> set[str]:
    """The query parameters a route module reads, found the way a grep for request.args would."""
    names = set(re.findall(r"""(?:args|values)\.get(?:list)?\(\s*["'](\w+)["']""", text))
    names |= set(re.findall(r"""(?:args|values)\[\s*["'](\w+)["']\s*\]""", text))
    # Helpers called with the parameter's name (page("flag_page"), _date_arg("since")).
    names |= set(re.findall(r"""\b(?:page|_date_arg|_\w+_arg)\(\s*["'](\w+)["']""", text))
    # A loop over names read from request.args (the audit trail's filters).
    for group in re.findall(r"for \w+ in \(([^)]*)\)", text):
        names |= set(re.findall(r"""["'](\w+)["']""", group))
    return names


def _parameters_by_module() -> dict[str, set[str]]:
    """{module name (crm.routes.x): the query parameters it reads} for every route module."""
    return {f"crm.routes.{source.stem}": _parameters_read_in(source.read_text()) for source in ROUTES.glob("*.py")}


def _query_parameters() -> set[str]:
    """Every query parameter any route reads."""
    return set().union(*_parameters_by_module().values())


def _int_arguments(rule) -> list[str]:
    return [name for name, converter in rule._converters.items() if isinstance(converter, IntegerConverter)]


def _real_ids(world) -> dict[str, int]:
    """An existing row for each kind of id a URL takes, so that query parameters reach the route's code."""
    from crm import models as m

    models = {"client_id": m.Client, "followup_id": m.FollowUp, "visit_id": m.VisitLog, "complaint_id": m.Complaint,
              "assessment_id": m.SuitabilityAssessment, "template_id": m.PlanTemplate, "product_id": m.Product,
              "questionnaire_id": m.Questionnaire, "team_id": m.Team, "outlet_id": m.Outlet, "user_id": m.User,
              "email_id": m.OutboxEmail, "override_id": m.WorkdayOverride, "session_id": m.UserSession}
    found = {}
    for name, model in models.items():
        first = db.session.execute(sa.select(sa.func.min(model.id))).scalar()
        found[name] = first or 1
    found["client_id"] = world["client"].id
    return found


@pytest.fixture
def rich_world(login, world):
    """One of each record a URL can name, made through the services, owned by manager1."""
    from crm.domain.questionnaire_text import parse_questionnaire
    from crm.models import Product, utcnow
    from crm.services import complaints, followups, suitability
    from tests.factories import make_visit
    from tests.test_suitability_flows import SMALL_QUESTIONNAIRE, answer_form

    client = make_client(world.manager1, name="张三")
    make_visit(client, world.manager1)
    followups.create(client, world.manager1, utcnow(), "call", title="回访")
    complaints.register(world.manager1, {"complainant_name": "张三", "channel": "outlet", "category": "fees",
                                         "severity": "normal", "facts": "佣金"}, client=client)
    db.session.add(Product(code="F001", name="稳健一号", kind="fund", risk=2, active=True))
    questionnaire = suitability.create_questionnaire(parse_questionnaire(SMALL_QUESTIONNAIRE), None)
    db.session.commit()
    login("manager1").post(f"/clients/{client.id}/assessment", data={
        "token": "a", **answer_form(questionnaire, {1: "10%以内", 2: "没有"})})
    return {"client": client, "world": world}


def _path(rule, values: dict[str, str]) -> str:
    return _SEGMENT.sub(lambda m: values[m.group(2)], rule.rule)


def _fill(rule, ids: dict[str, int]) -> dict[str, str]:
    return {name: str(ids.get(name, 1)) for name in rule.arguments}


PATH_ANSWERS = {"GET": {200, 303, 403, 404}, "POST": {303, 400, 403, 404, 405, 409, 422}}


@pytest.mark.parametrize("username", ["admin", "manager1"])
def test_every_id_in_every_url_of_the_map_answers_404_never_500(app, login, rich_world, username):
    """Each <int:…> of each rule, one at a time, gets a 25-digit id, MAX_ID+1 and MAX_ID, by GET and POST."""
    ids = _real_ids(rich_world)
    c = login(username)
    tried = 0
    for rule in app.url_map.iter_rules():
        for name in _int_arguments(rule):
            for value in PATH_VALUES:
                url = _path(rule, {**_fill(rule, ids), name: value})
                for method in sorted(rule.methods & {"GET", "POST"}):
                    response = c.open(url, method=method, data={})
                    tried += 1
                    assert response.status_code < 500, (method, url, response.status_code)
                    if value != str(MAX_ID):  # refused by the converter: no route matches (405 if another
                        # rule of the same shape takes only the other method)
                        assert response.status_code in (404, 405), (method, url, response.status_code)
                    else:
                        assert response.status_code in PATH_ANSWERS[method], (method, url, response.status_code)
    assert tried > 100


def test_the_source_scan_finds_every_query_parameter_the_finding_named():
    assert MUST_FIND <= _query_parameters(), MUST_FIND - _query_parameters()


@pytest.mark.parametrize("username", ["admin", "lead", "manager1"])
def test_every_query_parameter_on_every_get_route_never_answers_500(app, login, rich_world, username):
    """On every GET route (real ids in the path), huge and non-ASCII values: each parameter its module reads
    one at a time, then every parameter any route reads at once (also as a CSV download). Never a 500."""
    ids = _real_ids(rich_world)
    by_module = _parameters_by_module()
    everything = {name for name in _query_parameters() if name != "next"}
    c = login(username)
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static" or not set(rule.arguments) <= set(ids):
            continue
        path = _path(rule, _fill(rule, ids))
        module = app.view_functions[rule.endpoint].__module__
        own = sorted(by_module.get(module, set()) - {"next"})
        for value in QUERY_VALUES:
            queries = [{name: value} for name in own]
            if value == HUGE:
                queries += [{name: cursor} for name in own if name in CURSORS for cursor in CURSOR_VALUES]
            queries.append({name: value for name in everything})
            queries.append({**{name: value for name in everything}, "format": "csv"})
            for query in queries:
                response = c.get(path, query_string=query)
                assert response.status_code < 500, (path, query, response.status_code)


@pytest.mark.parametrize("value", ["²", "²²." + "x" * 20, f"{HUGE}.token", f"{MAX_ID + 1}.token", "1.", "."])
def test_a_doctored_keep_me_signed_in_cookie_is_ignored_never_a_500(client, world, value):
    """The remember cookie is "<session id>.<token>": an id no column can hold signs nobody in."""
    from crm.services.sessions import LEGACY_REMEMBER_COOKIE, REMEMBER_COOKIE

    for name in (REMEMBER_COOKIE, LEGACY_REMEMBER_COOKIE):
        client.set_cookie(name, value)
        response = client.get("/today")
        assert response.status_code in (302, 303), (name, value, response.status_code)

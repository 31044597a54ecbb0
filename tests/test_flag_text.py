"""The words for flag reasons: each code with its figures, the plain label when a figure is missing."""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest
from flask_babel import force_locale

from crm.services.flag_text import drop_percent, money, reason_text, reason_texts
from crm.services.scan import FlagFigures

TODAY = date(2026, 12, 1)
FIGURES = FlagFigures(today=TODAY, last_contact_on=date(2026, 10, 17), contact_limit_days=30, tier_name="金卡",
                      last_change_on=date(2026, 5, 1), asset_limit_days=180, peak_fen=250_000_000,
                      latest_fen=150_000_000, drop_days=30, satisfaction=2, intent="close_account")


@pytest.mark.parametrize(("code", "figures", "zh", "en"), [
    ("no_contact", FIGURES, "45 天未联系（金卡 30 天）", "45 days without contact (金卡: 30 days)"),
    ("no_contact", replace(FIGURES, tier_name=None, contact_limit_days=90), "45 天未联系（上限 90 天）",
     "45 days without contact (limit 90 days)"),
    ("no_contact", replace(FIGURES, last_contact_on=None), "超过客户等级规定的联系间隔未联系", None),
    ("no_contact", replace(FIGURES, ever_contacted=False, last_contact_on=date(2022, 5, 3)),
     "自2022年5月3日起无联系记录（规定 30 天）", "No contact on record since May 3, 2022 (30 days allowed)"),
    ("no_asset_activity", FIGURES, "214 天资产无变动（设置 180 天）", "214 days without asset change (setting 180 days)"),
    ("no_asset_activity", replace(FIGURES, last_change_on=None), None, "No asset activity for a long time"),
    ("assets_drop", FIGURES, "资产 ¥2,500,000.00 → ¥1,500,000.00（30 天内下降 40%）",
     "Assets ¥2,500,000.00 → ¥1,500,000.00 (−40 % within 30 days)"),
    ("assets_drop", replace(FIGURES, peak_fen=100_001, latest_fen=70_000), "资产 ¥1,000.01 → ¥700.00（30 天内下降 30%）",
     None),
    ("assets_drop", replace(FIGURES, peak_fen=None, latest_fen=None), None, "Assets fell sharply"),
    ("low_satisfaction", FIGURES, "满意度 2 分（满分 5 分）", "Satisfaction score 2 of 5"),
    ("low_satisfaction", replace(FIGURES, satisfaction=None), None, "Low satisfaction"),
    ("leaving_intent", FIGURES, None, "Wants to close the account (销户)"),
    ("leaving_intent", replace(FIGURES, intent="transfer_out"), None, "Wants to transfer out (转户)"),
    ("leaving_intent", replace(FIGURES, intent=None), None, "Mentioned transferring out or closing"),
    ("complaint_overdue", FIGURES, None, "Overdue complaint"),
    ("assets_drop", None, None, "Assets fell sharply"),
    ("no_such_code", FIGURES, "no_such_code", "no_such_code"),
])
def test_each_reason_reads_with_its_figures(app, code, figures, zh, en):
    with app.test_request_context():
        for locale, expected in (("zh_Hans_CN", zh), ("en", en)):
            if expected is not None:
                with force_locale(locale):
                    assert reason_text(code, figures) == expected


def test_the_texts_keep_the_order_of_the_codes(app):
    with app.test_request_context(), force_locale("en"):
        assert reason_texts(["low_satisfaction", "assets_drop"], FIGURES) == [
            "Satisfaction score 2 of 5", "Assets ¥2,500,000.00 → ¥1,500,000.00 (−40 % within 30 days)"]


@pytest.mark.parametrize(("peak", "latest", "percent"), [(100, 70, 30), (100, 71, 29), (3, 1, 66), (10, 0, 100)])
def test_the_drop_is_whole_percent_rounded_down_like_the_scan(peak, latest, percent):
    assert drop_percent(peak, latest) == percent


def test_money_is_yuan_with_two_decimals():
    assert (money(250_000_000), money(5), money(0)) == ("¥2,500,000.00", "¥0.05", "¥0.00")

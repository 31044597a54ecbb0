import re, pytest
from playwright.sync_api import expect
from tests.browser.test_journeys import sign_in, capture_prospect, seed_clients

@pytest.mark.parametrize("how", ["click", "tap"] * 4)
def test_dbg(world, page, how):
    seed_clients(world.manager1, "李四光")
    sign_in(page, "manager1")
    cid = capture_prospect(page, "张三丰", "139 1234 5678")
    page.locator("header nav a[href='/clients']").click()
    expect(page.locator("#results .card")).to_have_count(2)
    page.locator("#q").press_sequentially("zsf", delay=60)
    expect(page.locator("#results .card")).to_have_count(1)
    getattr(page.locator("#results a.card-link").first, how)()
    expect(page.locator("h1")).to_contain_text("张三丰")
    page.wait_for_timeout(500)
    print("RESULT", how, page.url)

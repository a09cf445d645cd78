"""The workbench on a phone: headless Chromium at 390 px drives every page as each role, including the
refused views, and takes the README's screenshots (refreshed with UPDATE_SCREENSHOTS=1)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from tests.bot.finance.finance_support import TOKEN, api
from tests.bot.h5.workbench_support import verify_link
from tests.browser import chromium, needs_chromium
from tests.handlers.approval_helpers import expense_row, file_expense
from tests.paths import ROOT
from tests.world import World, make_world

pytestmark = needs_chromium
SHOTS = ROOT / "docs" / "img"


@pytest.fixture
async def office(tmp_path: Path) -> AsyncIterator[World]:
    """A month in 研发部: budgets, a few expenses waiting for 王芳, one of 市场部."""
    w = await make_world(tmp_path, finance_api_token=TOKEN)
    await w.start_bot()
    month = w.clock.now().strftime("%Y-%m")
    for budget_id, dept, amount, category in (("rd", 2, "30000", None), ("fe", 3, "12000", None),
                                              ("fe-travel", 3, "5000", "差旅"), ("mk", 4, "8000", None)):
        status, _ = await api(w, "PUT", f"/api/v1/budgets/{budget_id}", {
            "department_id": dept, "period": month, "amount": amount, "owner": "lina", "category": category})
        assert status == 201
    try:
        yield w
    finally:
        await w.stop_bot()
        await w.sim.stop()


@asynccontextmanager
async def phone(browser: Browser, world: World, user: str) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    await context.add_cookies([{"name": "sim_user", "value": user, "url": world.sim.base_url}])
    try:
        yield await context.new_page()
    finally:
        await context.close()


async def fits(page: Page) -> None:
    assert await page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing overflows sideways


async def shot(page: Page, name: str, tmp_path: Path) -> None:
    target = SHOTS / name if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path / name
    await page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000


async def test_every_page_as_each_role_at_390_px(office: World, tmp_path: Path) -> None:
    w = office
    monitor = await file_expense(w, "liuyang", "2577.76", "办公", "显示器")
    pens = await file_expense(w, "liuyang", "88.50", "办公", "文具")
    trip = await file_expense(w, "liuyang", "1200", "差旅", "上海出差")
    keys = await file_expense(w, "liuyang", "356", "办公", "键盘")
    theirs = await file_expense(w, "sunli", "300", "办公", "展会物料")
    async with chromium() as browser:
        async with phone(browser, w, "liuyang") as page:  # an employee: own expenses, own department
            await page.goto(f"{w.url}/h5/")
            await expect(page.locator("h1")).to_have_text("我的报销")
            await expect(page.locator("main")).to_contain_text("¥2,577.76")
            await fits(page)
            await shot(page, "workbench-mine.png", tmp_path)
            await page.click(f"text={monitor}")
            await expect(page.locator("h1")).to_have_text(monitor)
            await expect(page.locator("svg[aria-label=审批路线]")).to_be_visible()
            await page.click("button:has-text('催办')")
            await expect(page.locator(".notice")).to_contain_text("已提醒 王芳")
            await fits(page)
            await shot(page, "workbench-detail.png", tmp_path)
            await page.goto(f"{w.url}/h5/expenses/{theirs}")  # another person's expense
            await expect(page.locator("main")).to_contain_text("不存在，或你无权查看")
            await page.goto(f"{w.url}/h5/budgets?dept=4")  # another department's budget
            await expect(page.locator("main")).to_contain_text("你只能查看本部门")
            await expect(page.locator("main")).not_to_contain_text("8,000")
            await page.click("nav a:has-text('预算')")
            await expect(page.locator("header p")).to_contain_text("前端组")
            await expect(page.locator("main")).not_to_contain_text("报销明细")

        async with phone(browser, w, "sunli") as page:  # refused: 刘洋's expense
            await page.goto(f"{w.url}/h5/expenses/{monitor}")
            await expect(page.locator("main")).to_contain_text("不存在，或你无权查看")
            await expect(page.locator("main")).not_to_contain_text("显示器")

        async with phone(browser, w, "wangfang") as page:  # an approver: the queue, batch and single decisions
            await page.goto(f"{w.url}/h5/approvals")
            await expect(page.locator("header p")).to_contain_text("4 笔等你处理")
            await expect(page.locator("main")).to_contain_text("超过")  # the policy warning of the old trip
            await fits(page)
            await shot(page, "workbench-approvals.png", tmp_path)
            await page.uncheck(f"input[value='{keys}']")
            await page.click("button:has-text('同意所选')")
            await expect(page.locator("main h2").first).to_contain_text("同意 1 笔")
            assert expense_row(w, pens)["current_step"] == 1 and expense_row(w, keys)["current_step"] == 0
            item = page.locator("section", has_text=f"{monitor}").last
            await item.locator("textarea").fill("型号与采购单一致")
            await item.locator("button:has-text('同意')").click()
            await expect(page.locator(".notice").first).to_contain_text(f"已同意 {monitor}")
            item = page.locator("section", has_text=f"{trip}").last
            await item.locator("button:has-text('驳回')").click()
            await expect(page.locator(".notice.bad").first).to_contain_text("需要写明理由")

        async with phone(browser, w, "lina") as page:  # a director: budgets below her and the drill-down
            await page.goto(f"{w.url}/h5/budgets?dept=3")
            await expect(page.locator("main")).to_contain_text("¥12,000.00")
            await expect(page.locator("svg[aria-label^=本期支出进度]").first).to_be_visible()
            await fits(page)
            await shot(page, "workbench-budgets.png", tmp_path)
            await page.click("text=报销明细")
            await expect(page.locator("main")).to_contain_text(monitor)
            await page.goto(f"{w.url}/h5/budgets?dept=4")
            await expect(page.locator("main")).to_contain_text("你只能查看本部门")

        async with phone(browser, w, "xuhui") as page:  # finance: every department
            await page.goto(f"{w.url}/h5/budgets?dept=4")
            await expect(page.locator("main")).to_contain_text("¥8,000.00")
            await page.goto(f"{w.url}/h5/expenses/{theirs}")
            await expect(page.locator("main")).to_contain_text("展会物料")


async def test_the_confirm_page_of_a_large_approval(office: World, tmp_path: Path) -> None:
    w = office
    number = await file_expense(w, "liuyang", "60000", "办公", "服务器")
    link = verify_link(await w.reply_to("wangfang", f"同意 {number}", contains="二次验证"))
    async with chromium() as browser, phone(browser, w, "wangfang") as page:
        await page.goto(f"{w.url}{link}")
        await expect(page.locator("h1")).to_have_text("确认同意报销")
        await fits(page)
        await shot(page, "workbench-verify.png", tmp_path)
        assert expense_row(w, number)["current_step"] == 0
        await page.click("button:has-text('确认执行')")
        await expect(page.locator("main")).to_contain_text(f"已同意 {number}")
        assert expense_row(w, number)["current_step"] == 1
        await page.goto(f"{w.url}{link}")
        await expect(page.locator("main")).to_contain_text("已经用过")

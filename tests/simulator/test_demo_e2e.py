"""`python run_bot.py --demo` in a real headless Chromium: file an expense as one person, approve it
by clicking cards as two others, and see the result — the whole product through the demo page."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.browser import chromium, needs_chromium
from tests.paths import ROOT
from tests.world import free_port

DEMO_TIME = "2026-11-25T10:00:00+08:00"  # the demo's clock, whatever day the test runs
pytestmark = needs_chromium



@pytest.fixture
async def demo_url(tmp_path: Path) -> AsyncIterator[str]:
    env = {**os.environ, "BOT_PORT": str(free_port()), "BOT_DB": str(tmp_path / "demo.db"), "BOT_QUIET_HOURS": ""}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "run_bot.py", "--demo", "--demo-time", DEMO_TIME, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    url = ""
    try:
        while not url:
            line = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode()
            assert line, "demo exited early"
            if match := re.search(r"open the demo chat: (\S+)", line):
                url = match.group(1)
        yield url
    finally:
        proc.terminate()
        await proc.wait()


@pytest.fixture
async def page(demo_url: str) -> AsyncIterator[Page]:
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 420, "height": 860})
        await page.goto(demo_url)
        yield page


async def say(page: Page, text: str) -> None:
    await page.fill("#text", text)
    await page.press("#text", "Enter")


async def test_file_and_approve_an_expense_through_the_demo_page(page: Page) -> None:
    timeline = page.locator("#timeline")
    await page.select_option("#who", "liuyang")
    await say(page, "帮助")
    await expect(timeline).to_contain_text("我是财务助手")
    await say(page, "报销 1280 差旅 今天 上海出差")
    await expect(timeline).to_contain_text("确认")
    await say(page, "确认")
    filed = re.compile(r"已提交报销 (BX20261125-\d{4})")
    await expect(timeline).to_contain_text(filed)
    number = filed.search(await timeline.inner_text()).group(1)  # type: ignore[union-attr]

    for approver in ("wangfang", "wuqiang"):  # team lead, then finance review
        await page.select_option("#who", approver)
        card = page.locator("#timeline .card", has_text=number).last
        await expect(card.locator("button", has_text="同意")).to_be_visible(timeout=10_000)
        await card.locator("button", has_text="同意").click()
        await expect(card.locator("button.done")).to_be_visible(timeout=10_000)
        await expect(card.locator("button.done")).to_be_disabled()

    await page.select_option("#who", "liuyang")
    await say(page, f"进度 {number}")
    await expect(timeline).to_contain_text("吴强", timeout=10_000)
    await expect(timeline).to_contain_text("已通过")
    # the seeded 研发部 budget (1,500 this month) passed 80%: its group chat hears about it
    await expect(page.locator("#group-list")).to_contain_text("80%", timeout=10_000)

    # 工作台 opens the H5 workbench as the persona chosen (through the simulator's OAuth), and a new
    # persona signs the previous one out
    for who, mine in (("liuyang", True), ("wangfang", False)):
        await page.select_option("#who", who)
        async with page.context.expect_page() as opened:
            await page.click("#workbench-link")
        bench = await opened.value
        await expect(bench.locator("h1")).to_have_text("我的报销", timeout=10_000)
        assert (number in await bench.content()) is mine
        await bench.close()

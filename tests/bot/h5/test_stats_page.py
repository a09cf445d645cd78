"""The figures page: OAuth, the same scope as `统计`, nothing loaded from elsewhere, and how it looks on
a phone (headless Chromium at 390 px; the screenshot is the one in the README)."""

from __future__ import annotations

import os
from pathlib import Path

import aiohttp

from tests.browser import chromium, needs_chromium
from tests.handlers.insight_helpers import at, paid_world, play_known_set
from tests.paths import ROOT
from tests.world import World

__all__ = ["paid_world"]
README_SHOT = ROOT / "docs" / "img" / "stats-page.png"  # refreshed with UPDATE_SCREENSHOTS=1


async def _open_as(world: World, user: str, path: str) -> tuple[int, str, str]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(f"{world.url}{path}", allow_redirects=False) as resp:
            assert resp.status == 302
            authorize = resp.headers["Location"].replace("#wechat_redirect", "") + f"&sim_user={user}"
        async with session.get(authorize) as resp:
            return resp.status, await resp.text(), resp.headers.get("Content-Security-Policy", "")


async def test_scope_and_a_self_contained_page(paid_world: World) -> None:
    w = paid_world
    known = await play_known_set(w)
    w.clock.set(at(15))
    status, page, csp = await _open_as(w, "xuhui", "/h5/stats")
    assert status == 200 and "2026-11 · 全公司" in page and known.c in page and "赵磊" in page
    assert "消息送达率" in page and "财务审核" in page and "<svg" in page
    assert "<script" not in page and "https://" not in page and "default-src 'none'" in csp
    status, page, _ = await _open_as(w, "wangfang", "/h5/stats")
    assert status == 200 and "2026-11 · 前端组" in page and known.c not in page and "消息送达率" not in page
    status, page, _ = await _open_as(w, "sunli", "/h5/stats")
    assert status == 403 and "统计只对财务人员和部门负责人开放" in page and "¥" not in page


async def test_wangfang_cannot_open_another_department(paid_world: World) -> None:
    w = paid_world
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(f"{w.url}/h5/stats", allow_redirects=False) as resp:
            authorize = resp.headers["Location"].replace("#wechat_redirect", "") + "&sim_user=wangfang"
        async with session.get(authorize) as resp:
            assert resp.status == 200
        async with session.get(f"{w.url}/h5/stats?dept=4&period=上个月") as resp:
            assert resp.status == 403 and "你只能查看你负责的部门" in await resp.text()
        async with session.get(f"{w.url}/h5/stats?dept=3&period=2026-Q4") as resp:
            assert resp.status == 200 and "2026-Q4 · 前端组" in await resp.text()


@needs_chromium
async def test_the_page_on_a_phone(paid_world: World, tmp_path: Path) -> None:
    w = paid_world
    await play_known_set(w)
    w.clock.set(at(15))
    async with chromium() as browser:
        context = await browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2)
        await context.add_cookies([{"name": "sim_user", "value": "xuhui", "url": w.sim.base_url}])
        page = await context.new_page()
        await page.goto(f"{w.url}/h5/stats")
        await page.wait_for_selector("text=报销与审批统计")
        assert page.url.split("#")[0].endswith("/h5/stats")  # signed in and back, the code gone
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390  # nothing overflows sideways on a phone
        await page.select_option("select[name=period]", "本季度")
        await page.click("button[type=submit]")
        await page.wait_for_selector("text=2026-Q4")
        await page.select_option("select[name=period]", "本月")
        await page.click("button[type=submit]")
        await page.wait_for_selector("text=2026-11 · 全公司")
        shot = README_SHOT if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path / "stats-page.png"
        await page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        await context.close()

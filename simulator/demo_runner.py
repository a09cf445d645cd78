"""`python run_bot.py --demo`: the bot, a local WeCom simulator with a seeded org, and a chat page.

No credentials are needed: the simulator plays WeCom (its own keys, its own API), the bot talks to
it exactly as it would talk to qyapi.weixin.qq.com, and the chat page at /demo/ lets a person act
as any member of the seeded company.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from pathlib import Path

import aiohttp
from pydantic import SecretStr

from bot.ops.serve import start_site, wait_for_signal
from bot.runtime.clock import Clock, FakeClock
from config import Settings
from simulator import WeComSimulator
from simulator.seed import seed_demo_org

DEMO_DB = Path("data/demo.db")


def demo_settings(settings: Settings, sim: WeComSimulator) -> Settings:
    """The operator's settings, with WeCom identity and keys taken from the simulator."""
    db = settings.bot_db if "bot_db" in settings.model_fields_set else str(DEMO_DB)
    return settings.model_copy(
        update={
            "wecom_corp_id": sim.corp_id,
            "wecom_agent_id": sim.agent_id,
            "wecom_secret": SecretStr(sim.secret),
            "wecom_token": SecretStr(sim.token),
            "wecom_aes_key": SecretStr(sim.aes_key),
            "wecom_contact_secret": SecretStr(sim.contact_secret),
            "wecom_api_base": sim.base_url,
            "wecom_oauth_base": sim.base_url,
            "bot_db": db,
            "finance_api_token": settings.finance_api_token or SecretStr("demo-finance-token"),
        }
    )


DEMO_BUDGETS = (
    ("rd-monthly", {"department_id": 2, "category": None, "amount": "1500.00", "owner": "lina",
                    "alert_chat_id": "rd-group"}),
    ("mkt-travel", {"department_id": 4, "category": "差旅", "amount": "8000.00", "owner": "zhaolei",
                    "robot_key": "demo-robot-key"}),
)


async def seed_budgets(bot_url: str, token: str, month: str) -> None:
    """This month's budgets, set through the finance API exactly as the finance platform would."""
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as http:
        for budget_id, body in DEMO_BUDGETS:
            async with http.put(f"{bot_url}/api/v1/budgets/{budget_id}", json={**body, "period": month}) as resp:
                resp.raise_for_status()


async def _start_simulator(sim: WeComSimulator, settings: Settings) -> str:
    """The simulator next to the bot (BOT_PORT + 1) when that port is free, so the page URL is stable."""
    if settings.bot_port:
        with contextlib.suppress(OSError):
            return await sim.start(settings.bot_host, settings.bot_port + 1)
    return await sim.start(settings.bot_host, 0)


async def run_demo(settings: Settings, *, start: datetime | None = None) -> int:
    """Serve the demo until interrupted; `start` runs its clock from another instant (e.g. a month's end)."""
    from bot.core import create_app  # after settings are known, so a bad setting fails fast

    clock = Clock() if start is None else FakeClock(start)
    sim = WeComSimulator(clock=clock.timestamp)
    seed_demo_org(sim)
    sim_url = await _start_simulator(sim, settings)
    demo = demo_settings(settings, sim)
    app = create_app(demo, clock=clock)
    site = await start_site(app, demo)
    bot_url = site.url
    sim.bot_callback_url = f"{bot_url}/wecom/callback"
    sim.bot_contact_url = f"{bot_url}/wecom/contacts"
    sim.bot_public_url = bot_url
    print(f"finance bot (demo) listening on {bot_url}", flush=True)
    token = demo.finance_api_token.get_secret_value()  # the demo's own token, shown so people can try the API
    print(f"WeCom simulator on {sim_url}; finance API token: {token}", flush=True)
    await seed_budgets(bot_url, token, clock.now().astimezone(demo.zone).strftime("%Y-%m"))
    print(f"open the demo chat: {sim_url}/demo/", flush=True)
    print("try it: as 刘洋 say 「报销 1280 差旅 今天 上海出差」 then 「确认」; approve as 王芳 and 吴强 by the card"
          " buttons; 研发部群 then gets the budget alert", flush=True)
    try:
        await wait_for_signal()
    finally:
        await site.close()
        await sim.stop()
    return 0

"""A first minute that teaches: a welcome card on a person's first message (or first opening of the
app), once ever; the app menu as data; opening the app later says nothing.

Both the card's buttons (`say:<words>`) and the menu's click keys are command words, so they reach
the same handlers as the words typed (see `Inbound.command`).
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from chat.context import Context
from chat.message import SAY
from chat.router import Router
from storage.onboarding import OnboardingRepo

router = Router("onboarding")
PERSON = ("text", "image", "voice", "video", "location", "link", "file")
OPENED = ("enter_agent", "subscribe", "click")
EXAMPLES = ("昨天打车花了35", "帮我看看预算", "有什么要我审批的")
SHORTCUTS = (("报销", "报销"), ("查预算", "预算"), ("我的报销", "我的报销"))
_TASK_CHARS = re.compile(r"[^0-9A-Za-z_\-@]")


def welcome_card(user_id: str) -> dict[str, Any]:
    examples = "\n".join(f"「{e}」" for e in EXAMPLES)
    return {
        "card_type": "button_interaction",
        "source": {"desc": "财务助手"},
        "main_title": {"title": "欢迎使用财务助手 👋", "desc": "报销、预算、审批，像聊天一样说给我听"},
        "sub_title_text": f"可以这样说：\n{examples}\n发票照片直接发给我；底部菜单也能找到常用功能。",
        "task_id": f"welcome-{_TASK_CHARS.sub('_', user_id)[:64]}-{secrets.token_hex(4)}",
        "button_list": [{"text": text, "style": 1 if i == 0 else 2, "key": f"{SAY}{words}"}
                        for i, (text, words) in enumerate(SHORTCUTS)],
    }


def menu(public_url: str) -> list[dict[str, Any]]:
    """The app's custom menu (WeCom `menu/create`): click keys are command words."""
    def click(name: str, key: str) -> dict[str, Any]:
        return {"type": "click", "name": name, "key": key}

    return [
        {"name": "报销", "sub_button": [click("报销", "报销"), click("我的报销", "我的报销"),
                                       {"type": "view", "name": "上传发票", "url": f"{public_url}/h5/upload"}]},
        {"name": "预算", "sub_button": [click("查预算", "预算"), click("统计", "统计")]},
        {"name": "我的", "sub_button": [click("待我审批", "待办"), click("提个反馈", "反馈"), click("帮助", "帮助")]},
    ]


@router.event("enter_agent", "subscribe")
async def opened(ctx: Context) -> None:
    """Opening the app: a first-timer gets the welcome card (after-hook below); later, silence."""


@router.after
async def welcome_once(ctx: Context, route: str) -> None:
    """After whatever answered a person's first message (or first opening), the welcome card, once ever."""
    if not ctx.settings.bot_onboarding or ctx.msg.source != "app" or (
            ctx.msg.msg_type not in PERSON and ctx.msg.event not in OPENED):
        return
    user = await ctx.user()
    if user is None or not user.active:
        return
    if await ctx.repo(OnboardingRepo).first_time(user.user_id, "welcomed_at", ctx.now):
        await ctx.send_card(user.user_id, welcome_card(user.user_id))
        await ctx.audit("onboarding.welcomed", f"user:{user.user_id}", {"via": ctx.msg.event or ctx.msg.msg_type},
                        actor="bot")

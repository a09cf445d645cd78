"""`帮助` / `help`, and the last resort for anything not understood: the closest thing the bot can do."""

from __future__ import annotations

from chat.context import Context
from chat.router import Priority, Router
from handlers.intents import said, understood
from nlu.lexicon import lexicon

router = Router("help")

HELP_ZH = """我是财务助手，像平时说话一样告诉我就行：
• 报销：「昨天打车花了35块5」「报个销，上周五请客户吃饭 860」，或只发「报销」一步步填写
• 发票：直接发一张发票照片；PDF 电子发票请用上传页面：{upload}
• 预算：「帮我看看预算」「研发部上个月的预算」
• 审批：「有什么要我审批的」「同意」「驳回 发票抬头不对」，或点击审批卡片；有几笔时我会列出来让你选
• 进度：「我的报销到哪了」；「撤回」「重新提交」被驳回的报销
在填写过程中可随时发送「修改 金额 120」「确认」「取消」。"""

HELP_EN = """I am the finance assistant. Just say what you need:
• File an expense: "taxi 35.5 yesterday", "expense 860 client dinner last friday", or just "expense" step by step
• Read an invoice: send a photo; upload PDF e-invoices here: {upload}
• Budgets: "what's my budget", "budget 研发部 2026-Q4"
• Approvals: "anything to approve?", "approve", "reject wrong invoice", or tap the card buttons
• Progress: "where is my expense"; "withdraw", "resubmit" a rejected one
While filling in, say "edit amount 120", "confirm" or "cancel" at any time."""


def help_text(ctx: Context) -> str:
    upload = f"{ctx.settings.public_url}/h5/upload"
    return ctx.t(HELP_ZH, HELP_EN).format(upload=upload)


@router.command("帮助", "help", "?", "？", "菜单", "menu", priority=Priority.GLOBAL)
@said(router, "help")
async def show_help(ctx: Context) -> None:
    await ctx.reply(help_text(ctx))


@router.event("enter_agent", "subscribe")
async def greet(ctx: Context) -> None:
    """Opening the app shows what it can do; the event carries nothing else."""
    await ctx.reply(help_text(ctx))


@router.fallback()
async def not_understood(ctx: Context) -> None:
    """Anything unmatched from a person gets help, never silence; system events are just recorded."""
    if ctx.msg.source not in ("app", "upload") or ctx.msg.msg_type not in ("text", "image", "voice", "video", "link",
                                                                            "location", "file"):
        return
    lead = ctx.t("没太明白你的意思。", "Sorry, I did not understand that.")
    closest = understood(ctx).closest if ctx.msg.msg_type == "text" else None
    if closest is not None:
        intent = lexicon().intents[closest]
        title, say = ctx.t(intent.title[0], intent.title[1]), ctx.t(intent.say[0], intent.say[1])
        lead += ctx.t(f"你是想{title}吗？可以发送「{say}」。", f' Did you want to {title}? Try "{say}".')
    await ctx.reply(f"{lead}\n\n{help_text(ctx)}")

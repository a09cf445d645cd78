"""One text message that stands for many cards a person could not receive one by one.

WeCom delivers at most 30 app messages a minute to a member and silently drops the rest; when more
cards wait than the window allows, the sender folds them into this digest. Folded approvals stay
decidable: by text (`同意 BX…`) and through `待办`, which lists everything that waits.
"""

from __future__ import annotations

from typing import Any

from handlers.approval.cards import APPROVE

MAX_BYTES = 2000  # WeCom's text limit is 2048 bytes


def _is_approval(card: dict[str, Any]) -> bool:
    return any(str(b.get("key", "")).startswith(APPROVE) for b in card.get("button_list") or ())


def _line(card: dict[str, Any]) -> str:
    title = str((card.get("main_title") or {}).get("title") or card.get("sub_title_text") or "卡片")
    values = [str(item.get("value", "")) for item in (card.get("horizontal_content_list") or ())[:2]]
    return " · ".join(["• " + title, *[v for v in values if v]])


def digest(touser: str, cards: list[dict[str, Any]]) -> dict[str, Any]:
    """The message body of a digest for `cards` (template_card payloads), newest last."""
    approvals = all(_is_approval(c) for c in cards)
    if approvals:
        head = f"{len(cards)} 笔报销等你审批（消息较多，已合并为一条）："
        tail = "回复「同意 单号」或「驳回 单号 理由」审批，发送「待办」查看全部。"
    else:
        head = f"{len(cards)} 张卡片等你处理（消息较多，已合并为一条）："
        tail = "发送「帮助」查看可用的指令。"
    lines = [head]
    size = len(head.encode()) + len(tail.encode()) + 64
    for shown, card in enumerate(cards):
        line = _line(card)
        size += len(line.encode()) + 1
        if size > MAX_BYTES:
            lines.append(f"……另有 {len(cards) - shown} 项" + ("，发送「待办」查看" if approvals else ""))
            break
        lines.append(line)
    lines.append(tail)
    return {"touser": touser, "msgtype": "text", "text": {"content": "\n".join(lines)}}

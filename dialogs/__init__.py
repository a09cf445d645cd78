"""Multi-turn conversations: declared dialogs, one open per user, persisted in SQLite.

A dialog is declared once (a `DialogSpec` of `Slot`s to collect and explicit `State`s), registered
by name, and started from any handler. While it is open, the user's messages go to it (the router
from `build_router()` sits at `Priority.DIALOG`, so global commands such as 帮助 / 预算 are still
answered without losing the dialog). In every state the user may say:

- `取消` / `cancel`: close the dialog, nothing filed;
- `修改 <字段> <值>` / `edit <field> <value>`: change one slot (`修改 金额` alone asks for it again).

Invalid input is re-asked with the parser's hint and the slot's example; what was entered stays.
A parser may return `Unsure(value)`: the value is kept and confirmed before the dialog moves on.
Every prompt says how to leave; `build_router(interrupt)` lets the caller decide which texts are
new requests rather than answers (they go to the other routes; the dialog is kept, and says so).
After `BOT_DIALOG_TIMEOUT_MINUTES` without an answer a durable timer closes the dialog with a
message. The state is written on every turn, so a restart continues the conversation.

Minimal example, a one-state dialog whose completion calls an async function::

    from dialogs import DialogSpec, Invalid, Slot, Turn, register, start_dialog

    def _reason(turn: Turn, text: str) -> str:
        if len(text.strip()) < 2:
            raise Invalid("请写明理由。", "Please give a reason.")
        return text.strip()

    async def _reject(turn: Turn) -> None:
        await reject_expense(turn.ctx, turn.data["number"], turn.data["reason"])  # your code
        await turn.finish(turn.t("已驳回。", "Rejected."))

    register(DialogSpec(
        name="approval.reject_reason",
        title=("驳回理由", "rejection reason"),
        slots=(Slot("reason", label=("理由", "reason"), parse=_reason,
                    prompt=lambda t: t.t(f"请回复驳回 {t.data['number']} 的理由：",
                                         f"Why do you reject {t.data['number']}?"),
                    example=("发票抬头不对", "wrong invoice title")),),
        on_complete=_reject,
    ))

    # in a handler, e.g. after a 驳回 card click:
    await start_dialog(ctx, "approval.reject_reason", {"number": number})

`await active_dialog(ctx)` tells whether the sender has an open dialog (`ActiveDialog` or None),
`await end_dialog(ctx)` closes it silently. Commands that must work inside a dialog register at
`Priority.GLOBAL`; a spec's `entry_words` (报销 / expense) restart instead of answering. Value
parsers live in `dialogs.parsing`.
"""

from dialogs.engine import (
    TIMER_KIND,
    ActiveDialog,
    Awaiting,
    DialogSpec,
    Slot,
    State,
    Turn,
    Unsure,
    active_dialog,
    build_router,
    end_dialog,
    get_spec,
    register,
    start_dialog,
)
from dialogs.parsing import Invalid

__all__ = [
    "TIMER_KIND",
    "ActiveDialog",
    "Awaiting",
    "DialogSpec",
    "Invalid",
    "Slot",
    "State",
    "Turn",
    "Unsure",
    "active_dialog",
    "build_router",
    "end_dialog",
    "get_spec",
    "register",
    "start_dialog",
]

"""Free text → the capabilities: intent routes beside the command words, and what leaves a dialog.

`@said(router, "budget")` registers a handler for sentences the classifier (nlu/) reads as that
intent, below the command words and the open dialog (`Priority.INTENT`). The handler gets the
sentence's values as `ctx.args`, the expense number first and then the sentence's own words, so
the handler of `预算` serves `帮我看看预算` and the handler of `同意 BX…` serves `好的，同意`.

`interrupts` is what the dialog engine asks about a message while a dialog waits for an answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

from chat.context import Context, Handler
from chat.router import Priority, Router
from dialogs import Awaiting
from nlu import Categories, Understanding, understand

EXPENSE_DIALOG = "expense"


def today(ctx: Context) -> date:
    return ctx.local(ctx.now).date()


def categories(ctx: Context) -> Categories:
    return tuple((c.name, tuple(c.aliases)) for c in ctx.rules.expense.categories)


def understood(ctx: Context, text: str | None = None) -> Understanding:
    """The message (or `text`) as the classifier reads it; cached, so asking twice costs nothing."""
    return understand(ctx.msg.text if text is None else text, today(ctx), categories(ctx))


def args_of(found: Understanding) -> str:
    return " ".join(p for p in (found.number or "", found.description) if p)


def said(router: Router, *intents: str) -> Callable[[Handler], Handler]:
    """Route text the classifier reads as one of `intents` to the decorated handler."""

    def match(ctx: Context) -> bool:
        if ctx.msg.msg_type != "text" or ctx.msg.source != "app":
            return False
        found = understood(ctx)
        if found.intent not in intents:
            return False
        ctx.args = args_of(found)
        return True

    return router.when(match, priority=Priority.INTENT, name="said:" + "|".join(intents))


async def interrupts(ctx: Context, awaiting: Awaiting) -> bool:
    """Is this message a new request rather than an answer to the open dialog?

    A valid answer stays an answer. Where any text is an answer (a description, a reason) only a
    sentence that is nothing but a request leaves. A whole expense sentence (an amount with what it
    was for) with another amount than the one being filled is a new expense; one that adds what is
    missing fills the open one; a bare number is an answer.
    """
    found = understood(ctx)
    if found.intent in (None, "cancel") or (awaiting.fits and not awaiting.free_text):
        return False
    if found.intent == "expense":
        whole = found.amount is not None and bool(found.concepts & {"file", "spend"} or found.category)
        if awaiting.spec != EXPENSE_DIALOG or not whole:
            return whole  # a bare number is an answer, never a new expense
        entered = awaiting.data.get("amount")
        return entered is not None and Decimal(str(entered)) != found.amount.value
    return found.plain or not awaiting.free_text

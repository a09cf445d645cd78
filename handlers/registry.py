"""Capabilities, one module each, assembled into one router and one event bus."""

from __future__ import annotations

import dialogs
from chat.events import EventBus
from chat.router import Router
from handlers import (
    admin,
    budget,
    contacts,
    digest,
    expense,
    feedback,
    finance_events,
    help,
    intents,
    nudge,
    onboarding,
    payables,
    smalltalk,
    stats,
    status,
)
from handlers.approval import chat as approval
from nlu import segment


def build_router() -> Router:
    segment.warm_up_in_background()  # free text is read from the first message on, without a pause
    # help last: its fallback answers whatever no other capability claimed
    return Router("root").include(contacts.router, admin.router, budget.router, payables.router, approval.router,
                                   nudge.router, status.router, stats.router, feedback.router, digest.router, onboarding.router,
                                   finance_events.router, dialogs.build_router(intents.interrupts), expense.router,
                                   smalltalk.router,
                                   help.router)


def build_events() -> EventBus:
    return (EventBus().include(approval.events).include(budget.bus).include(finance_events.bus)
            .include(feedback.bus))

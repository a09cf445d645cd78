"""Capabilities, one module each, assembled into one router and one event bus."""

from __future__ import annotations

from handlers import admin, contacts, help
from handlers.events import EventBus
from handlers.router import Router


def build_router() -> Router:
    # help last: its fallback answers whatever no other capability claimed
    return Router("root").include(contacts.router, admin.router, help.router)


def build_events() -> EventBus:
    return EventBus()

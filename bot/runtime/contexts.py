"""Handler contexts for work that did not arrive as an inbox item: finance API calls, page views,
background jobs. Business rules stay in handlers/, which see the same `Context` either way."""

from __future__ import annotations

from chat.context import Context, Services
from chat.message import Inbound
from storage.db import Tx


def outside_context(services: Services, tx: Tx, action: str, *, user_id: str, source: str) -> Context:
    """A context whose message says who acts (`user_id`) and through which door (`source`)."""
    msg = Inbound(inbox_id=0, source=source, user_id=user_id, msg_type=source, event=None,
                  data={"action": action}, received_at=services.clock.now())
    return Context(msg=msg, tx=tx, services=services)

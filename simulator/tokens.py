"""access_token issue and checking, with the early-invalidation knobs WeCom exercises in the wild."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

from simulator import errors
from simulator.errors import ApiError

APP = "app"
CONTACT = "contact"


@dataclass
class IssuedToken:
    kind: str
    expires_at: float
    revoked: bool = False
    forced_expired: bool = False


class TokenStore:
    def __init__(self, ttl: int, clock: Callable[[], float]) -> None:
        self.ttl = ttl
        self._clock = clock
        self._tokens: dict[str, IssuedToken] = {}

    def issue(self, kind: str) -> str:
        token = secrets.token_urlsafe(48)
        self._tokens[token] = IssuedToken(kind, self._clock() + self.ttl)
        return token

    def check(self, token: str | None) -> str:
        """Return the token's kind (app/contact) or raise the errcode WeCom would give."""
        if not token:
            raise ApiError(errors.MISSING_TOKEN, "access_token missing")
        issued = self._tokens.get(token)
        if issued is None or issued.revoked:
            raise ApiError(errors.INVALID_TOKEN, "invalid access_token")
        if issued.forced_expired or self._clock() >= issued.expires_at:
            raise ApiError(errors.TOKEN_EXPIRED, "access_token expired")
        return issued.kind

    def expire_all(self) -> None:
        for issued in self._tokens.values():
            issued.forced_expired = True

    def revoke_all(self) -> None:
        for issued in self._tokens.values():
            issued.revoked = True

    @property
    def issued_count(self) -> int:
        return len(self._tokens)

"""WeCom error codes the simulator answers with, and the exception that carries one to the HTTP layer.

Codes follow the public error-code table; where WeCom documents no specific code for a rule the
simulator enforces (task_id reuse, a spent response_code), it answers 40058 "invalid parameter".
"""

from __future__ import annotations

SYSTEM_BUSY = -1
INVALID_SECRET = 40001
INVALID_MEDIA_ID = 40007
INVALID_MSG_TYPE = 40008
INVALID_CORP_ID = 40013
INVALID_TOKEN = 40014
INVALID_OAUTH_CODE = 40029
INVALID_AGENT_ID = 40056
INVALID_PARAMETER = 40058
INVALID_TAG_ID = 40068
INVALID_MEDIA_TYPE = 40004
INVALID_FILE_SIZE = 40006
MISSING_TOKEN = 41001
TOKEN_EXPIRED = 42001
EMPTY_CONTENT = 44004
CONTENT_TOO_LARGE = 45002
FREQ_LIMIT = 45009
JSON_FORMAT = 47001
API_FORBIDDEN = 48002
USER_NOT_FOUND = 60111
DEPT_NOT_FOUND = 60123
ALL_RECIPIENTS_INVALID = 81013
RECIPIENTS_EMPTY = 82001
CHAT_ID_INVALID = 86001
CHAT_NOT_FOUND = 86003
CHAT_MEMBERS_INVALID = 86216
WEBHOOK_KEY_INVALID = 93000


class ApiError(Exception):
    """Raised by an API handler; rendered as HTTP 200 with this errcode/errmsg, as WeCom does."""

    def __init__(self, errcode: int, errmsg: str) -> None:
        super().__init__(f"{errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg

    def body(self) -> dict[str, object]:
        return {"errcode": self.errcode, "errmsg": self.errmsg}

"""User text inside messages that WeCom renders: shown as written, never as markup or a link.

WeCom turns `<a href>` in a text message into a link, and `[..](..)`, `<font>`, `**`, `` ` `` and
`<@userid>` in markdown into formatting; clients also make `https://…` clickable. A description,
comment, reason or name that someone typed is passed through `plain()` (text messages, textcard
descriptions) or `md()` (markdown) where it is echoed, so it reads the same but does nothing: angle
and square brackets become their full-width forms, `://` loses its link, and line breaks cannot
start a line of their own that would pass for one of the bot's.
"""

from __future__ import annotations

import re

BREAKS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
PLAIN = str.maketrans({"<": "＜", ">": "＞"})
MARKDOWN = str.maketrans({"[": "［", "]": "］", "`": "｀", "*": "＊", "#": "＃"})


def plain(text: str) -> str:
    """User text for a text message (or a textcard's description)."""
    return BREAKS.sub(" ", text).translate(PLAIN).replace("://", "：//")


def md(text: str) -> str:
    """User text for a markdown message."""
    return plain(text).translate(MARKDOWN)

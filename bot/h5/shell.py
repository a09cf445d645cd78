"""The one look of every H5 page: a mobile-first shell (390 px first), the workbench's tabs, and the
small pieces pages share (money, escaped text, forms with the CSRF token).

No script and nothing loaded from elsewhere: a Content-Security-Policy forbids it, charts are inline
SVG (bot.h5.charts), forms post to the bot itself.
"""

from __future__ import annotations

import hmac
import html
from decimal import Decimal

from aiohttp import web

from bot.h5.sessions import Sessions
from bot.parts import Bot
from storage.uploads import UploadFiles

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data: 'self'; frame-src 'self'; form-action 'self';" \
      " base-uri 'none'"
TABS = (("mine", "/h5/mine", "我的报销"), ("approvals", "/h5/approvals", "待我审批"), ("budgets", "/h5/budgets", "预算"),
        ("upload", "/h5/upload", "上传发票"))

STYLE = """
:root { --bg: #f5f6f8; --card: #fff; --text: #1f2329; --muted: #646a73; --line: #e5e6eb; --brand: #07c160;
        --warn: #f0a020; --bad: #e64340; --info: #2b7cf6; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text);
       font: 15px/1.5 -apple-system, "PingFang SC", "Noto Sans CJK SC", sans-serif; }
header { padding: 18px 16px 6px; }
header h1 { font-size: 20px; margin: 0; }
header p { margin: 2px 0 0; color: var(--muted); font-size: 13px; }
nav { display: flex; gap: 6px; padding: 8px 12px 0; overflow-x: auto; }
nav a { flex: none; padding: 6px 12px; border-radius: 16px; background: #fff; color: var(--text); font-size: 14px;
        text-decoration: none; border: 1px solid var(--line); }
nav a.on { background: var(--brand); color: #fff; border-color: var(--brand); }
main { padding: 0 12px 24px; max-width: 720px; margin: 0 auto; }
section { background: var(--card); border-radius: 12px; padding: 14px; margin: 12px 0;
          box-shadow: 0 1px 2px rgba(0,0,0,.05); }
h2 { font-size: 16px; margin: 0 0 10px; }
a { color: var(--info); }
form.filters { display: flex; gap: 8px; flex-wrap: wrap; }
select, button, textarea, input[type=text] { font: inherit; font-size: 15px; padding: 8px 10px; border-radius: 8px;
       border: 1px solid var(--line); background: #fff; }
button { background: var(--brand); color: #fff; border: 0; }
button.bad { background: var(--bad); } button.plain { background: #fff; color: var(--text); border: 1px solid var(--line); }
textarea { width: 100%; min-height: 44px; }
input[type=file] { display: block; width: 100%; margin: 16px 0; font-size: 16px; }
form > button[type=submit]:only-of-type { min-width: 96px; }
.row { display: flex; justify-content: space-between; align-items: baseline; gap: 8px; }
.row b { font-size: 17px; white-space: nowrap; }
.item { display: block; color: inherit; text-decoration: none; padding: 10px 0; border-bottom: 1px solid var(--line); }
.item:last-child { border-bottom: 0; }
.sub { color: var(--muted); font-size: 13px; }
.pill { display: inline-block; padding: 0 8px; border-radius: 10px; font-size: 12px; background: var(--bg); }
.pill.submitted { background: #fff4e0; color: #a76200; } .pill.approved, .pill.paid { background: #e6f7ed; color: #06803f; }
.pill.rejected { background: #fdecea; color: #b3261e; } .pill.withdrawn { background: #eceef1; color: var(--muted); }
.warn { background: #fff8e6; border-left: 3px solid var(--warn); padding: 6px 10px; margin: 6px 0; font-size: 13px; }
.notice { background: #e8f3ff; border-left: 3px solid var(--info); padding: 8px 10px; margin: 6px 0; white-space: pre-wrap; }
.notice.bad { background: #fdecea; border-color: var(--bad); }
.actions { display: flex; gap: 8px; flex-wrap: wrap; margin-top: 10px; } .actions form { margin: 0; }
.tiles { display: grid; grid-template-columns: repeat(2, 1fr); gap: 8px; }
.tile { background: var(--bg); border-radius: 10px; padding: 10px; }
.tile b { display: block; font-size: 20px; } .tile span { color: var(--muted); font-size: 12px; }
figure { margin: 8px 0 14px; } figcaption { color: var(--muted); font-size: 13px; margin-bottom: 6px; }
svg text { font-size: 12px; fill: var(--text); } svg text.v { fill: var(--muted); }
.gauge { margin: 10px 0; } .gl { display: flex; justify-content: space-between; font-size: 14px; }
.gd { color: var(--muted); font-size: 12px; }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
td, th { text-align: left; padding: 6px 4px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: normal; white-space: nowrap; } table.kv th { width: 36%; }
ol.timeline { padding-left: 18px; margin: 0; font-size: 13px; } ol.timeline li { margin: 4px 0; }
iframe.invoice, img.invoice { width: 100%; border: 1px solid var(--line); border-radius: 8px; }
iframe.invoice { height: 420px; }
.none, .note { color: var(--muted); font-size: 13px; }
label.pick { display: flex; gap: 10px; align-items: flex-start; }
"""


def esc(value: object) -> str:
    return html.escape(str(value))


def yuan(amount: Decimal | None) -> str:
    """Money in full, always two places with separators: ¥2,577.76."""
    return "—" if amount is None else f"¥{amount:,.2f}"


def page_shell(title: str, subtitle: str, body: str, status: int = 200, *, tab: str | None = None) -> web.Response:
    """One mobile-first page: a title, a line under it, the workbench tabs (on its pages), and sections."""
    nav = "" if tab is None else "<nav>" + "".join(
        f'<a href="{href}"{" class=on" if key == tab else ""}>{label}</a>' for key, href, label in TABS) + "</nav>"
    doc = (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
           f'<meta name="viewport" content="width=device-width, initial-scale=1">'
           f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
           f"<header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header>{nav}"
           f"<main>{body}</main></body></html>")
    return web.Response(text=doc, content_type="text/html", status=status, headers={"Content-Security-Policy": CSP})


def error_page(title: str, body: str, status: int) -> web.Response:
    return page_shell(title, "财务助手", f"<section>{body}</section>", status)


def post_form(action: str, csrf: str, button: str, *, css: str = "", fields: str = "") -> str:
    """A one-button form that posts to the bot with the session's CSRF token."""
    cls = f' class="{css}"' if css else ""
    return (f'<form method="post" action="{esc(action)}"><input type="hidden" name="csrf" value="{esc(csrf)}">'
            f'{fields}<button type="submit"{cls}>{esc(button)}</button></form>')


def notices(lines: list[str], *, bad: bool = False) -> str:
    cls = "notice bad" if bad else "notice"
    return "".join(f'<div class="{cls}">{esc(line)}</div>' for line in lines if line)


class PagePlugin:
    """What every page plugin shares: the bot's H5 sessions and the uploaded files, opened at start."""

    def __init__(self) -> None:
        self._sessions: Sessions | None = None
        self._files: UploadFiles | None = None

    async def start(self, bot: Bot) -> None:
        self._sessions = Sessions(bot, error_page)
        self._files = UploadFiles(bot.settings.data_dir)

    @property
    def files(self) -> UploadFiles:
        """Uploaded files (the upload page stores them, the expense page shows the originals)."""
        assert self._files is not None, "the page plugin has not started"
        return self._files

    async def stop(self) -> None:
        return None

    @property
    def sessions(self) -> Sessions:
        assert self._sessions is not None, "the page plugin has not started"
        return self._sessions

    async def viewer(self, request: web.Request) -> str | web.Response:
        """The signed-in member (else the OAuth round trip back to this address, filters kept)."""
        return await self.sessions.viewer(request, str(request.rel_url.without_query_params("code", "state")))

    async def posted(self, request: web.Request) -> tuple[str, Form] | web.Response:
        """The member and form of a POST whose CSRF token matches their session; else the refusal."""
        user_id = await self.sessions.user(request)
        if user_id is None:
            return error_page("登录已过期", '<p>请从企业微信重新打开<a href="/h5/mine">工作台</a>。</p>', 401)
        form = await request.post()
        csrf = form.get("csrf")
        if not isinstance(csrf, str) or not hmac.compare_digest(csrf, self.sessions.csrf(request)):
            return error_page("页面已过期", "<p>请返回上一页刷新后再试。</p>", 403)
        fields: Form = {}
        for key, value in form.items():
            if isinstance(value, str):
                fields.setdefault(key, []).append(value[:2000])
        return user_id, fields


Form = dict[str, list[str]]  # a posted form's text fields, each with all its values


def one(form: Form, name: str) -> str:
    return (form.get(name) or [""])[0].strip()

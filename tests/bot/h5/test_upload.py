"""The H5 upload page: WeCom OAuth2 login through the simulator, then a PDF into the expense chat."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import aiohttp

from bot.h5.pages import sniff
from bot.h5.sessions import SessionSigner
from simulator.invoice_art import render_invoice_pdf, sample_fields
from tests.bot.h5.h5_support import browser, login, rows, upload
from tests.world import World, message_text


async def test_pdf_through_the_upload_page_is_filed_once(world: World) -> None:
    fields = sample_fields(11)
    pdf = render_invoice_pdf(fields)
    async with browser() as session:
        csrf = await login(session, world, "liuyang")
        after = len(world.sim.messages)
        status, page = await upload(session, world, csrf, pdf)
        assert status == 200 and "已收到，请回到聊天确认" in page
        msg = await world.sim.wait_for_message(to="liuyang", contains="已识别发票", after=after, timeout=30)
        found = message_text(msg)
        for key in ("seller_name", "invoice_number", "issue_date"):
            assert fields[key] in found
        assert f"{Decimal(fields['total']):,.2f}" in found and "类别" in found  # category still unknown

        summary = await world.reply_to("liuyang", "办公")
        assert fields["seller_name"] in summary and f"{Decimal(fields['total']):,.2f}" in summary
        done = await world.reply_to("liuyang", "确认", contains="已提交报销")
        number = re.search(r"BX\d{8}-\d{4}", done)
        assert number is not None
        [row] = rows(world, "SELECT amount_fen, expense_date, invoice_key, file_sha256, category, description"
                             " FROM expenses")
        key = fields["invoice_number"] if len(fields["invoice_number"]) == 20 else \
            fields["invoice_code"] + fields["invoice_number"]
        assert row == (int(Decimal(fields["total"]) * 100), fields["issue_date"], key,
                       hashlib.sha256(pdf).hexdigest(), "办公", fields["seller_name"])

        after = len(world.sim.messages)
        status, _ = await upload(session, world, csrf, pdf)
        assert status == 200
        refused = await world.sim.wait_for_message(to="liuyang", contains="不能重复报销", after=after, timeout=30)
        assert number.group(0) in message_text(refused)
    assert len(rows(world, "SELECT * FROM expenses")) == 1
    assert len(rows(world, "SELECT * FROM uploads WHERE user_id = 'liuyang'")) == 2


async def test_upload_page_refuses_what_it_should(world: World) -> None:
    async with browser() as session:
        status, _ = await upload(session, world, "x", b"%PDF-1.4 nothing")
        assert status == 401  # no session yet
        async with session.get(f"{world.url}/h5/upload?code=forged&state=abc", allow_redirects=False) as resp:
            assert resp.status == 400  # no login was started here, so the state cannot match
        csrf = await login(session, world, "liuyang")
        assert (await upload(session, world, "0" * 64, b"%PDF-1.4 x"))[0] == 403  # wrong csrf
        assert (await upload(session, world, csrf, b"MZ\x90\x00 not an invoice", "a.pdf"))[0] == 415
        big = b"%PDF-1.4\n" + b"0" * (10 * 1024 * 1024)
        assert (await upload(session, world, csrf, big))[0] == 413
    assert not rows(world, "SELECT * FROM uploads")
    assert not rows(world, "SELECT * FROM inbox WHERE source = 'upload'")


async def test_only_members_get_a_session(world: World) -> None:
    world.sim.add_user("newbie", "新人", [1])  # in WeCom, not yet in the bot's mirror
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(f"{world.url}/h5/upload", allow_redirects=False) as resp:
            authorize = resp.headers["Location"].replace("#wechat_redirect", "")
        async with session.get(authorize + "&sim_user=newbie") as resp:
            assert resp.status == 403
        assert not any(c.key == "h5_session" for c in session.cookie_jar)


def test_session_tokens_are_signed_and_expire() -> None:
    start = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    signer = SessionSigner("app-secret")
    token = signer.issue("liuyang", start)
    assert signer.verify(token, start + timedelta(minutes=29)) == "liuyang"
    assert signer.verify(token, start + timedelta(minutes=31)) is None
    assert SessionSigner("other-secret").verify(token, start) is None
    forged = SessionSigner("app-secret").issue("wuqiang", start).split(".")[0] + "." + token.split(".")[1]
    assert signer.verify(forged, start) is None
    assert signer.verify("garbage", start) is None and signer.verify("", start) is None
    assert signer.csrf(token) != SessionSigner("other-secret").csrf(token)


def test_file_kinds_by_magic_bytes() -> None:
    assert sniff(b"%PDF-1.7\n...") == "application/pdf"
    assert sniff(b"\xff\xd8\xff\xe0....JFIF") == "image/jpeg"
    assert sniff(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert sniff(b"GIF89a") is None and sniff(b"") is None


async def _open_as(world: World, user: str, path: str) -> tuple[int, str]:
    """Open an H5 page in a fresh browser session, logging in through WeCom OAuth2 as `user`."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(f"{world.url}{path}", allow_redirects=False) as resp:
            if resp.status != 302:
                return resp.status, await resp.text()
            authorize = resp.headers["Location"].replace("#wechat_redirect", "") + f"&sim_user={user}"
        async with session.get(authorize) as resp:
            assert str(resp.url).endswith(path)  # back where the card link pointed, without the code
            return resp.status, await resp.text()


async def test_card_detail_link_shows_the_timeline_to_those_who_may_see_it(world: World) -> None:
    await world.reply_to("liuyang", "报销 300 办公 今天 键盘")
    number = re.search(r"BX\d{8}-\d{4}", await world.reply_to("liuyang", "确认", contains="BX")).group(0)  # type: ignore[union-attr]
    card = await world.sim.wait_for_message(to="wangfang", msgtype="template_card", contains=number)
    link = card.payload["card_action"]["url"]
    assert link == f"{world.url}/h5/expenses/{number}"
    status, page = await _open_as(world, "wangfang", f"/h5/expenses/{number}")
    assert status == 200 and number in page and "键盘" in page and "王芳" in page
    status, page = await _open_as(world, "sunli", f"/h5/expenses/{number}")
    assert status == 404 and "无权查看" in page and "键盘" not in page  # the same answer as for no such number
    async with aiohttp.ClientSession() as session, session.get(f"{world.url}/h5/expenses/nonsense") as resp:
        assert resp.status == 404

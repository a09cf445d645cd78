"""H5 sessions: they end when the member leaves, are Secure behind https, link only to the public URL,
and in demo mode cannot be forged with the simulator's well-known secret."""

from __future__ import annotations

from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlsplit

import aiohttp

from tests.bot.h5.h5_support import browser, login, upload
from tests.world import World

PUBLIC = "https://fin.example.com"


async def _upload_page(session: aiohttp.ClientSession, world: World) -> tuple[int, str]:
    async with session.get(f"{world.url}/h5/upload", allow_redirects=False) as resp:
        return resp.status, await resp.text()


async def test_a_session_ends_when_the_member_is_deactivated(world: World) -> None:
    async with browser() as session:
        csrf = await login(session, world, "liuyang")
        assert (await _upload_page(session, world))[0] == 200
        world.sim.update_user("liuyang", status=5)
        assert (await world.sim.change_contact("update_user", UserID="liuyang")).status == 200
        await world.idle()
        status, _ = await _upload_page(session, world)
        assert status == 302  # signed out: back to WeCom's login, which refuses a member who left
        assert (await upload(session, world, csrf, b"%PDF-1.4 x"))[0] == 401
        async with session.get(f"{world.url}/h5/expenses/BX20261125-0001", allow_redirects=False) as resp:
            assert resp.status == 302


async def test_behind_https_cookies_are_secure_and_links_ignore_the_host_header(bare_world: World) -> None:
    world = bare_world
    await world.start_bot(bot_public_url=PUBLIC)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{world.url}/h5/upload", allow_redirects=False,
                            headers={"Host": "evil.example", "X-Forwarded-Host": "evil.example"}) as resp:
            authorize = resp.headers["Location"]
            state_cookie = SimpleCookie(resp.headers["Set-Cookie"])["h5_state"]
        query = parse_qs(urlsplit(authorize).query)
        assert query["redirect_uri"] == [f"{PUBLIC}/h5/upload"]
        assert state_cookie["secure"] and state_cookie["httponly"]
        async with http.get(authorize.replace("#wechat_redirect", "") + "&sim_user=liuyang",
                            allow_redirects=False) as resp:
            back = resp.headers["Location"]  # to the public address, which the test cannot reach
        assert back.startswith(f"{PUBLIC}/h5/upload?")
        async with http.get(f"{world.url}{back.removeprefix(PUBLIC)}", allow_redirects=False,
                            headers={"Cookie": f"h5_state={state_cookie.value}"}) as resp:
            assert resp.status == 302 and resp.headers["Location"] == "/h5/upload"
            session_cookie = SimpleCookie(resp.headers.getall("Set-Cookie")[0])["h5_session"]
    assert session_cookie["secure"] and session_cookie["httponly"] and session_cookie["samesite"] == "Lax"


async def _session_after_restart(world: World, **settings: object) -> int:
    await world.start_bot(**settings)
    async with browser() as session:
        await login(session, world, "liuyang")
        await world.restart_bot(**settings)
        status, _ = await _upload_page(session, world)
    await world.stop_bot()
    return status


async def test_demo_sessions_are_signed_with_a_key_of_their_own_run(bare_world: World) -> None:
    assert await _session_after_restart(bare_world, demo=False) == 200  # keyed by WECOM_SECRET: still valid
    assert await _session_after_restart(bare_world, demo=True) == 302  # a fresh random key each run

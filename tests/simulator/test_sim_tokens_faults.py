"""Token issue/expiry/invalidation and fault injection on the server API."""

from __future__ import annotations

import time

import aiohttp
from sim_support import Api, FakeClock

from simulator import WeComSimulator

TEXT = {"touser": "lina", "msgtype": "text", "agentid": 1000002, "text": {"content": "hi"}}


async def test_gettoken_and_secret_errors(sim: WeComSimulator, http: aiohttp.ClientSession) -> None:
    api = Api(sim, http)
    ok = await api.get("gettoken", corpid=sim.corp_id, corpsecret=sim.secret)
    assert ok["errcode"] == 0 and ok["expires_in"] == 7200 and len(ok["access_token"]) >= 32
    assert (await api.get("gettoken", corpid=sim.corp_id, corpsecret="nope"))["errcode"] == 40001
    assert (await api.get("gettoken", corpid="wwother", corpsecret=sim.secret))["errcode"] == 40013
    assert sim.calls["gettoken"] == 3


async def test_every_api_checks_the_token(sim: WeComSimulator, http: aiohttp.ClientSession) -> None:
    api = Api(sim, http)
    assert (await api.post("message/send", TEXT))["errcode"] == 41001
    assert (await api.post("message/send", TEXT, access_token="forged"))["errcode"] == 40014
    assert (await api.get("user/get", userid="lina", access_token="forged"))["errcode"] == 40014
    await api.login()
    assert (await api.post("message/send", TEXT))["errcode"] == 0


async def test_token_expires_with_the_clock(sim: WeComSimulator, api: Api, clock: FakeClock) -> None:
    clock.advance(7199)
    assert (await api.post("message/send", TEXT))["errcode"] == 0
    clock.advance(2)
    assert (await api.post("message/send", TEXT))["errcode"] == 42001
    await api.login()
    assert (await api.post("message/send", TEXT))["errcode"] == 0


async def test_forced_expiry_and_invalidation(sim: WeComSimulator, api: Api) -> None:
    sim.expire_tokens()
    assert (await api.post("message/send", TEXT))["errcode"] == 42001
    await api.login()
    sim.invalidate_tokens()
    assert (await api.post("message/send", TEXT))["errcode"] == 40014
    await api.login()
    assert (await api.post("message/send", TEXT))["errcode"] == 0
    assert sim.calls["gettoken"] == 3


async def test_contact_secret_token_scopes(sim: WeComSimulator, http: aiohttp.ClientSession) -> None:
    app_api, contact_api = Api(sim, http), Api(sim, http)
    await app_api.login()
    await contact_api.login(sim.contact_secret)
    listed = await contact_api.post("user/list_id", {"limit": 3})
    assert listed["errcode"] == 0 and len(listed["dept_user"]) == 3 and listed["next_cursor"] == "3"
    rest = await contact_api.post("user/list_id", {"cursor": listed["next_cursor"]})
    assert rest["next_cursor"] == "" and len(rest["dept_user"]) == len(sim.org.users) - 3
    assert (await app_api.post("user/list_id", {}))["errcode"] == 48002
    assert (await contact_api.post("message/send", TEXT))["errcode"] == 48002
    assert (await contact_api.get("user/get", userid="lina"))["name"] == "李娜"


async def test_fail_next_errcode_is_consumed(sim: WeComSimulator, api: Api) -> None:
    sim.fail_next("message/send", 2, errcode=45009)
    assert (await api.post("message/send", TEXT))["errcode"] == 45009
    assert (await api.post("message/send", TEXT))["errcode"] == 45009
    assert (await api.post("message/send", TEXT))["errcode"] == 0
    assert sim.calls["message/send"] == 3
    assert len(sim.messages) == 1


async def test_fail_next_default_is_system_busy(sim: WeComSimulator, api: Api) -> None:
    sim.fail_next("gettoken")
    assert (await api.get("gettoken", corpid=sim.corp_id, corpsecret=sim.secret))["errcode"] == -1


async def test_fail_next_http_status(sim: WeComSimulator, api: Api, http: aiohttp.ClientSession) -> None:
    sim.fail_next("/message/send", http_status=502)
    url = f"{sim.base_url}/cgi-bin/message/send"
    async with http.post(url, params={"access_token": api.token}, json=TEXT) as resp:
        assert resp.status == 502
    assert (await api.post("message/send", TEXT))["errcode"] == 0


async def test_fail_next_delay_then_success(sim: WeComSimulator, api: Api) -> None:
    sim.fail_next("message/send", delay=0.3)
    started = time.monotonic()
    assert (await api.post("message/send", TEXT))["errcode"] == 0
    assert time.monotonic() - started >= 0.3


async def test_malformed_json_and_unknown_api(sim: WeComSimulator, api: Api, http: aiohttp.ClientSession) -> None:
    url = f"{sim.base_url}/cgi-bin/message/send"
    async with http.post(url, params={"access_token": api.token}, data=b"{not json") as resp:
        assert (resp.status, (await resp.json())["errcode"]) == (200, 47001)
    assert (await api.get("no/such/api"))["errcode"] == 404


async def test_malformed_fields_get_an_errcode_not_a_500(sim: WeComSimulator, api: Api) -> None:
    card = {"card_type": "button_interaction", "task_id": "malformed_1", "main_title": {"title": "t"},
            "button_list": [{"text": "ok", "key": "ok"}]}
    sent = await api.post("message/send", {**TEXT, "msgtype": "template_card", "template_card": card})
    update = {"agentid": 1000002, "response_code": sent["response_code"], "atall": "everyone",
              "button": {"replace_name": "y"}}
    answer = await api.post("message/update_template_card", update)
    assert answer["errcode"] == 40058 and "ValueError" in answer["errmsg"]
    assert sim.cards["malformed_1"].consumed_codes == []
    bad_party = {**TEXT, "touser": "", "totag": "abc"}
    assert (await api.post("message/send", bad_party))["errcode"] == 81013
    assert (await api.post("message/send", {**TEXT, "text": "not an object"}))["errcode"] == 40058

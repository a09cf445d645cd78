"""Media upload/get, contact reads and OAuth2 identity."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import aiohttp
from sim_support import Api, FakeClock, Receiver

from simulator import WeComSimulator

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


async def upload(api: Api, kind: str, name: str, data: bytes, content_type: str) -> dict:
    form = aiohttp.FormData()
    form.add_field("media", data, filename=name, content_type=content_type)
    url = f"{api.sim.base_url}/cgi-bin/media/upload"
    async with api.session.post(url, params={"access_token": api.token, "type": kind}, data=form) as resp:
        return await resp.json()


async def test_media_round_trip(sim: WeComSimulator, api: Api) -> None:
    uploaded = await upload(api, "file", "发票.pdf", b"%PDF-1.4 fake", "application/pdf")
    assert uploaded["errcode"] == 0 and uploaded["type"] == "file"
    assert uploaded["created_at"] == str(int(sim.clock()))
    url = f"{sim.base_url}/cgi-bin/media/get"
    async with api.session.get(url, params={"access_token": api.token, "media_id": uploaded["media_id"]}) as resp:
        assert resp.status == 200
        assert resp.headers["Content-Type"] == "application/pdf"
        assert "attachment" in resp.headers["Content-Disposition"]
        assert "%E5%8F%91%E7%A5%A8.pdf" in resp.headers["Content-Disposition"]
        assert await resp.read() == b"%PDF-1.4 fake"
    sent = await api.post("message/send", {"touser": "lina", "msgtype": "file", "agentid": 1000002,
                                           "file": {"media_id": uploaded["media_id"]}})
    assert sent["errcode"] == 0


async def test_media_errors_and_expiry(sim: WeComSimulator, api: Api, clock: FakeClock) -> None:
    assert (await upload(api, "image", "a.png", b"1234", "image/png"))["errcode"] == 40006
    assert (await upload(api, "sticker", "a.png", PNG, "image/png"))["errcode"] == 40004
    image = await upload(api, "image", "a.png", PNG, "image/png")
    assert (await api.get("media/get", media_id="unknown"))["errcode"] == 40007
    clock.advance(3 * 24 * 3600)
    await api.login()
    assert (await api.get("media/get", media_id=image["media_id"]))["errcode"] == 40007


async def test_inbound_image_is_downloadable(sim: WeComSimulator, api: Api, receiver: Receiver) -> None:
    await sim.send_image("liuyang", PNG, filename="receipt.png")
    xml = receiver.plaintexts[0]
    media_id = xml.split("<MediaId><![CDATA[")[1].split("]]>")[0]
    pic_url = xml.split("<PicUrl><![CDATA[")[1].split("]]>")[0]
    url = f"{sim.base_url}/cgi-bin/media/get"
    async with api.session.get(url, params={"access_token": api.token, "media_id": media_id}) as resp:
        assert resp.headers["Content-Type"] == "image/png" and await resp.read() == PNG
    async with api.session.get(pic_url) as resp:
        assert resp.status == 200 and await resp.read() == PNG


async def test_contact_reads(sim: WeComSimulator, api: Api) -> None:
    user = await api.get("user/get", userid="wangfang")
    assert (user["name"], user["department"], user["is_leader_in_dept"], user["direct_leader"]) == (
        "王芳", [3], [1], ["lina"])
    assert (await api.get("user/get", userid="ghost"))["errcode"] == 60111
    simple = await api.get("user/simplelist", department_id=2)
    assert sorted(u["userid"] for u in simple["userlist"]) == ["chenjing", "lina"]
    full = await api.get("user/list", department_id=2, fetch_child=1)
    assert sorted(u["userid"] for u in full["userlist"]) == ["chenjing", "lina", "liuyang", "wangfang"]
    assert (await api.get("user/list", department_id=77))["errcode"] == 60123
    depts = (await api.get("department/list"))["department"]
    assert [d["id"] for d in depts] == [1, 2, 3, 4, 5]
    assert depts[1]["department_leader"] == ["lina"] and depts[1]["parentid"] == 1
    sub = (await api.get("department/simplelist", id=2))["department_id"]
    assert [(d["id"], d["parentid"]) for d in sub] == [(2, 1), (3, 2)]
    assert (await api.get("department/get", id=5))["department"]["name"] == "财务部"
    tags = (await api.get("tag/list"))["taglist"]
    assert {"tagid": 1, "tagname": "财务审核"} in tags and {"tagid": 2, "tagname": "财务管理员"} in tags
    tag = await api.get("tag/get", tagid=1)
    assert tag["userlist"] == [{"userid": "wuqiang", "name": "吴强"}]
    assert (await api.get("tag/get", tagid=9))["errcode"] == 40068


async def test_oauth_redirect_and_single_use_code(sim: WeComSimulator, api: Api, clock: FakeClock) -> None:
    params = {"appid": sim.corp_id, "redirect_uri": "http://bot.local/h5/upload?x=1", "response_type": "code",
              "scope": "snsapi_base", "state": "s1", "agentid": "1000002", "sim_user": "liuyang"}
    url = f"{sim.base_url}/connect/oauth2/authorize"
    async with api.session.get(url, params=params, allow_redirects=False) as resp:
        assert resp.status == 302
        target = urlsplit(resp.headers["Location"])
    query = parse_qs(target.query)
    assert (target.netloc, target.path, query["x"], query["state"]) == ("bot.local", "/h5/upload", ["1"], ["s1"])
    code = query["code"][0]
    assert (await api.get("auth/getuserinfo", code=code))["userid"] == "liuyang"
    assert (await api.get("auth/getuserinfo", code=code))["errcode"] == 40029
    stale = sim.issue_oauth_code("lina")
    clock.advance(301)
    await api.login()
    assert (await api.get("auth/getuserinfo", code=stale))["errcode"] == 40029
    legacy = sim.issue_oauth_code("lina")
    assert (await api.get("user/getuserinfo", code=legacy))["UserId"] == "lina"


async def test_oauth_identity_from_cookie_or_picker(sim: WeComSimulator, http: aiohttp.ClientSession) -> None:
    params = {"appid": sim.corp_id, "redirect_uri": "http://bot.local/cb", "state": "z"}
    url = f"{sim.base_url}/connect/oauth2/authorize"
    async with http.get(url, params=params, allow_redirects=False) as resp:
        assert resp.status == 200 and "李娜" in await resp.text()
    async with http.get(url, params=params, allow_redirects=False, cookies={"sim_user": "zhoumin"}) as resp:
        code = parse_qs(urlsplit(resp.headers["Location"]).query)["code"][0]
    assert sim.oauth_codes[code][0] == "zhoumin"
    async with http.get(url, params={**params, "appid": "wrong"}, allow_redirects=False) as resp:
        assert resp.status == 400


async def test_media_get_supports_byte_ranges(sim: WeComSimulator, api: Api) -> None:
    image = await upload(api, "image", "r.png", PNG, "image/png")
    url = f"{sim.base_url}/cgi-bin/media/get"
    params = {"access_token": api.token, "media_id": image["media_id"]}
    for header, expected in (("bytes=0-9", PNG[:10]), ("bytes=1000-", PNG[1000:]), ("bytes=-5", PNG[-5:])):
        async with api.session.get(url, params=params, headers={"Range": header}) as resp:
            assert resp.status == 206 and await resp.read() == expected
            assert resp.headers["Content-Range"].endswith(f"/{len(PNG)}")
    async with api.session.get(url, params=params, headers={"Range": f"bytes={len(PNG)}-"}) as resp:
        assert resp.status == 416

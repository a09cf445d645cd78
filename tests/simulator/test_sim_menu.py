"""menu/create and menu/get as WeCom answers them, and menu taps as `click` events."""

from __future__ import annotations

import pytest

from simulator import WeComSimulator
from simulator.api_menu import click_keys
from tests.simulator.sim_support import Api


@pytest.mark.parametrize(("buttons", "errcode"), [
    ([], 40016),
    ([{"type": "click", "name": f"b{i}", "key": f"k{i}"} for i in range(4)], 40016),
    ([{"type": "jump", "name": "x", "key": "k"}], 40017),
    ([{"type": "click", "name": "十七个字节的名字啊", "key": "k"}], 40018),
    ([{"type": "click", "name": "x", "key": "k" * 129}], 40019),
    ([{"type": "view", "name": "x", "url": ""}], 40020),
    ([{"name": "x", "sub_button": [{"type": "click", "name": "s", "key": "k"}] * 6}], 40023),
])
async def test_invalid_menus_are_refused(sim: WeComSimulator, api: Api, buttons: list[dict[str, object]],
                                         errcode: int) -> None:
    answer = await api.post("menu/create", {"button": buttons}, agentid=sim.agent_id)
    assert answer["errcode"] == errcode and sim.menu is None


async def test_a_menu_is_kept_and_read_back(sim: WeComSimulator, api: Api) -> None:
    menu = [{"name": "报销", "sub_button": [{"type": "click", "name": "报销", "key": "报销"},
                                           {"type": "view", "name": "上传", "url": "http://127.0.0.1/h5/upload"}]},
            {"type": "click", "name": "预算", "key": "预算"}]
    assert (await api.post("menu/create", {"button": menu}, agentid=1))["errcode"] == 40056
    assert (await api.post("menu/create", {"button": menu}, agentid=sim.agent_id))["errcode"] == 0
    got = await api.get("menu/get", agentid=sim.agent_id)
    assert got["button"] == menu and click_keys(menu) == {"报销", "预算"}

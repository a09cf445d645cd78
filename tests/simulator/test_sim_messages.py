"""message/send shapes and recipients, template cards and response codes, recall, appchat, robots."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from defusedxml import ElementTree
from sim_support import Api, FakeClock, Receiver

from simulator import CardNotClickable, WeComSimulator


def msg(msgtype: str, body: dict[str, Any], touser: str = "lina", **extra: Any) -> dict[str, Any]:
    return {"touser": touser, "msgtype": msgtype, "agentid": 1000002, msgtype: body, **extra}


def approval_card(task_id: str) -> dict[str, Any]:
    return {
        "card_type": "button_interaction",
        "main_title": {"title": "报销审批", "desc": "刘洋 提交 打车费 ¥35.50"},
        "task_id": task_id,
        "button_list": [{"text": "同意", "style": 1, "key": "approve"},
                        {"text": "驳回", "style": 2, "key": "reject"}],
    }


async def test_text_is_recorded_and_awaitable(sim: WeComSimulator, api: Api) -> None:
    waiter = asyncio.create_task(sim.wait_for_message(to="lina", contains="你好"))
    await asyncio.sleep(0)
    answer = await api.post("message/send", msg("text", {"content": "你好，李娜"}))
    assert answer["errcode"] == 0 and answer["msgid"]
    sent = await waiter
    assert (sent.channel, sent.touser, sent.msgtype, sent.payload) == ("app", ["lina"], "text",
                                                                      {"content": "你好，李娜"})
    assert sent.msgid == answer["msgid"] and sent.time == sim.clock()
    assert sim.messages_to("lina") == [sent]
    assert sim.messages_to("liuyang") == []


async def test_wait_for_message_times_out_with_what_arrived(sim: WeComSimulator, api: Api) -> None:
    await api.post("message/send", msg("text", {"content": "别的"}))
    with pytest.raises(TimeoutError, match="别的"):
        await sim.wait_for_message(to="lina", contains="没有", timeout=0.2)
    with pytest.raises(TimeoutError):
        await sim.wait_for_message(to="lina", after=1, timeout=0.1)


async def test_recipients_partial_and_all_invalid(sim: WeComSimulator, api: Api) -> None:
    sim.update_user("sunli", status=5)
    answer = await api.post("message/send", msg("text", {"content": "x"}, touser="lina|Ghost|sunli"))
    assert answer["errcode"] == 0 and answer["invaliduser"] == "ghost|sunli"
    assert sim.messages[-1].touser == ["lina"]
    assert (await api.post("message/send", msg("text", {"content": "x"}, touser="ghost")))["errcode"] == 81013
    assert (await api.post("message/send", msg("text", {"content": "x"}, touser="")))["errcode"] == 82001


async def test_party_tag_and_all_recipients(sim: WeComSimulator, api: Api) -> None:
    await api.post("message/send", {**msg("text", {"content": "研发"}, touser=""), "toparty": "2"})
    assert sorted(sim.messages[-1].touser) == ["chenjing", "lina", "liuyang", "wangfang"]
    answer = await api.post("message/send", {**msg("text", {"content": "审核"}, touser=""), "totag": "1|99"})
    assert sim.messages[-1].touser == ["wuqiang"] and answer["invalidtag"] == "99"
    await api.post("message/send", msg("text", {"content": "全员"}, touser="@all"))
    assert len(sim.messages[-1].touser) == len(sim.org.users)


@pytest.mark.parametrize(("msgtype", "body", "errcode"), [
    ("text", {"content": ""}, 44004),
    ("text", {"content": "长" * 700}, 45002),
    ("markdown", {"content": "a" * 2049}, 45002),
    ("textcard", {"title": "t", "description": "d"}, 40058),
    ("textcard", {"title": "t", "description": "d", "url": "http://x", "btntxt": "五个字太长"}, 40058),
    ("news", {"articles": []}, 40058),
    ("image", {"media_id": "missing"}, 40007),
    ("voiceprint", {"x": 1}, 40008),
])
async def test_payload_validation(sim: WeComSimulator, api: Api, msgtype: str, body: dict[str, Any],
                                  errcode: int) -> None:
    assert (await api.post("message/send", msg(msgtype, body)))["errcode"] == errcode
    assert sim.messages == []


async def test_valid_shapes_pass(sim: WeComSimulator, api: Api) -> None:
    bodies = [
        msg("markdown", {"content": "# 预算\n**超支** <font color=\"warning\">10%</font>"}),
        msg("textcard", {"title": "报销已通过", "description": "<div class=\"gray\">今天</div>",
                         "url": "http://bot/x", "btntxt": "详情"}),
        msg("news", {"articles": [{"title": "月报", "url": "http://bot/r"}]}),
    ]
    for body in bodies:
        assert (await api.post("message/send", body))["errcode"] == 0
    assert [m.msgtype for m in sim.messages] == ["markdown", "textcard", "news"]


async def test_agentid_must_match(sim: WeComSimulator, api: Api) -> None:
    assert (await api.post("message/send", {**msg("text", {"content": "x"}), "agentid": 1}))["errcode"] == 40056


async def test_card_send_update_and_single_use_code(sim: WeComSimulator, api: Api) -> None:
    sent = await api.post("message/send", msg("template_card", approval_card("exp_001"), touser="lina|zhangwei"))
    assert sent["errcode"] == 0 and sent["response_code"].startswith("RC")
    card = sim.cards["exp_001"]
    assert card.recipients == ["lina", "zhangwei"] and card.view("lina").clickable
    assert card.codes[0].source == "send"
    dup = await api.post("message/send", msg("template_card", approval_card("exp_001")))
    assert dup["errcode"] == 40058
    update = {"agentid": 1000002, "response_code": sent["response_code"], "userids": ["lina"],
              "button": {"replace_name": "已同意"}}
    assert (await api.post("message/update_template_card", update))["errcode"] == 0
    assert card.view("lina").replace_name == "已同意" and card.view("zhangwei").clickable
    assert card.consumed_codes == [sent["response_code"]]
    assert (await api.post("message/update_template_card", update))["errcode"] == 40058


async def test_response_code_expires_after_72_hours(sim: WeComSimulator, api: Api, clock: FakeClock) -> None:
    sent = await api.post("message/send", msg("template_card", approval_card("exp_002")))
    clock.advance(72 * 3600 + 1)
    await api.login()
    update = {"agentid": 1000002, "response_code": sent["response_code"], "atall": 1,
              "button": {"replace_name": "已过期"}}
    assert (await api.post("message/update_template_card", update))["errcode"] == 40058
    assert sim.cards["exp_002"].view("lina").clickable


async def test_click_issues_fresh_code_and_update_for_everyone(sim: WeComSimulator, api: Api,
                                                               receiver: Receiver) -> None:
    sent = await api.post("message/send", msg("template_card", approval_card("exp_003"), touser="lina|zhangwei"))
    result = await sim.click_card("lina", "exp_003", "approve")
    assert result.status == 200
    event = {c.tag: (c.text or "") for c in ElementTree.fromstring(receiver.plaintexts[0])}
    assert (event["Event"], event["EventKey"], event["TaskId"], event["CardType"]) == (
        "template_card_event", "approve", "exp_003", "button_interaction")
    card = sim.cards["exp_003"]
    click_code = event["ResponseCode"]
    assert click_code != sent["response_code"]
    assert card.code(click_code).userid == "lina" and card.clicks[0].key == "approve"
    new_card = {**approval_card("ignored"), "card_type": "text_notice", "card_action": {"type": 1, "url": "http://b"},
                "main_title": {"title": "已处理"}}
    new_card.pop("button_list")
    update = {"agentid": 1000002, "response_code": click_code, "atall": 1, "template_card": new_card}
    assert (await api.post("message/update_template_card", update))["errcode"] == 0
    for userid in ("lina", "zhangwei"):
        assert card.view(userid).card["main_title"]["title"] == "已处理"
    with pytest.raises(CardNotClickable):
        await sim.click_card("zhangwei", "exp_003", "approve")


async def test_click_rules(sim: WeComSimulator, api: Api, receiver: Receiver) -> None:
    await api.post("message/send", msg("template_card", approval_card("exp_004")))
    with pytest.raises(CardNotClickable):
        await sim.click_card("liuyang", "exp_004", "approve")
    with pytest.raises(CardNotClickable):
        await sim.click_card("lina", "exp_004", "no-such-key")
    with pytest.raises(CardNotClickable):
        await sim.click_card("lina", "unknown", "approve")
    await sim.click_card("lina", "exp_004", "reject")
    await sim.click_card("lina", "exp_004", "approve")
    assert [c.key for c in sim.cards["exp_004"].clicks] == ["reject", "approve"]
    assert len({c.code for c in sim.cards["exp_004"].codes}) == 3


async def test_vote_card_click_carries_selected_items(sim: WeComSimulator, api: Api, receiver: Receiver) -> None:
    card = {"card_type": "vote_interaction", "main_title": {"title": "选择报销类别"}, "task_id": "vote_1",
            "checkbox": {"question_key": "cat", "option_list": [{"id": "taxi", "text": "打车"},
                                                                {"id": "meal", "text": "餐费"}], "mode": 1},
            "submit_button": {"text": "提交", "key": "submit"}}
    assert (await api.post("message/send", msg("template_card", card)))["errcode"] == 0
    await sim.click_card("lina", "vote_1", "submit", selected={"cat": ["taxi", "meal"]})
    assert "<QuestionKey><![CDATA[cat]]></QuestionKey>" in receiver.plaintexts[0]
    assert receiver.plaintexts[0].count("<OptionId>") == 2


async def test_card_shape_errors(sim: WeComSimulator, api: Api) -> None:
    no_task = approval_card("x")
    no_task.pop("task_id")
    bad_task = approval_card("有空格 的id")
    dup_keys = approval_card("dup_keys")
    dup_keys["button_list"][1]["key"] = "approve"
    notice_without_action = {"card_type": "text_notice", "main_title": {"title": "t"}}
    for card in (no_task, bad_task, dup_keys, notice_without_action):
        assert (await api.post("message/send", msg("template_card", card)))["errcode"] == 40058


async def test_recall_within_24_hours(sim: WeComSimulator, api: Api, clock: FakeClock) -> None:
    first = await api.post("message/send", msg("text", {"content": "撤回我"}))
    assert (await api.post("message/recall", {"msgid": first["msgid"]}))["errcode"] == 0
    assert sim.messages[0].recalled
    assert (await api.post("message/recall", {"msgid": first["msgid"]}))["errcode"] == 40058
    second = await api.post("message/send", msg("text", {"content": "太旧"}))
    clock.advance(24 * 3600 + 1)
    await api.login()
    assert (await api.post("message/recall", {"msgid": second["msgid"]}))["errcode"] == 40058


async def test_appchat_lifecycle(sim: WeComSimulator, api: Api) -> None:
    created = await api.post("appchat/create", {"name": "市场部群", "owner": "zhaolei",
                                                "userlist": ["zhaolei", "sunli"], "chatid": "mkt"})
    assert created == {"errcode": 0, "errmsg": "ok", "chatid": "mkt"}
    assert (await api.post("appchat/create", {"userlist": ["zhaolei", "sunli"], "chatid": "mkt"}))["errcode"] == 86001
    assert (await api.post("appchat/create", {"userlist": ["zhaolei"]}))["errcode"] == 86216
    await api.post("appchat/update", {"chatid": "mkt", "add_user_list": ["zhangwei"], "del_user_list": ["sunli"]})
    info = (await api.get("appchat/get", chatid="mkt"))["chat_info"]
    assert info["userlist"] == ["zhaolei", "zhangwei"] and info["owner"] == "zhaolei"
    assert (await api.post("appchat/send", {"chatid": "mkt", "msgtype": "markdown",
                                            "markdown": {"content": "**本月预算**"}}))["errcode"] == 0
    sent = await sim.wait_for_message(chat="mkt", timeout=1)
    assert (sent.channel, sent.touser) == ("appchat", ["zhaolei", "zhangwei"])
    assert (await api.post("appchat/send", {"chatid": "nope", "msgtype": "text",
                                            "text": {"content": "x"}}))["errcode"] == 86003
    assert (await api.get("appchat/get", chatid="nope"))["errcode"] == 86003
    card = {"chatid": "mkt", "msgtype": "template_card", "template_card": approval_card("in_chat")}
    assert (await api.post("appchat/send", card))["errcode"] == 40008


async def test_seeded_group_chat_is_usable(sim: WeComSimulator, api: Api) -> None:
    info = (await api.get("appchat/get", chatid="rd-group"))["chat_info"]
    assert info["name"] == "研发部群" and "lina" in info["userlist"]


async def test_webhook_robot_key_and_rate_limit(sim: WeComSimulator, api: Api, clock: FakeClock) -> None:
    body = {"msgtype": "text", "text": {"content": "预算提醒", "mentioned_list": ["zhoumin"]}}
    bad = await api.post("webhook/send", body, key="wrong")
    assert bad["errcode"] == 93000
    for _ in range(20):
        assert (await api.post("webhook/send", body, key="demo-robot-key"))["errcode"] == 0
    assert (await api.post("webhook/send", body, key="demo-robot-key"))["errcode"] == 45009
    clock.advance(61)
    assert (await api.post("webhook/send", body, key="demo-robot-key"))["errcode"] == 0
    sent = sim.messages[-1]
    assert (sent.channel, sent.robot, sent.touser) == ("webhook", "demo-robot-key", ["zhoumin"])
    assert len(sim.messages) == 21
    card = {"msgtype": "template_card", "template_card": approval_card("robot_card")}
    assert (await api.post("webhook/send", card, key="demo-robot-key"))["errcode"] == 40058


async def test_duplicate_check_silently_skips_repeat(sim: WeComSimulator, api: Api, clock: FakeClock) -> None:
    body = msg("text", {"content": "预算已超支"}, enable_duplicate_check=1, duplicate_check_interval=600)
    first, second = await api.post("message/send", body), await api.post("message/send", body)
    assert first["errcode"] == second["errcode"] == 0 and first["msgid"] != second["msgid"]
    assert len(sim.messages) == 1
    assert sim.dropped == [(second["msgid"], "lina", "duplicate")]
    clock.advance(601)
    await api.post("message/send", body)
    assert len(sim.messages) == 2


async def test_per_member_minute_limit_drops_silently(sim: WeComSimulator, api: Api, clock: FakeClock) -> None:
    sim.per_user_minute_limit = 3
    for n in range(4):
        assert (await api.post("message/send", msg("text", {"content": f"第{n}条"}, touser="lina|zhoumin")))[
            "errcode"] == 0
    assert [m.touser for m in sim.messages] == [["lina", "zhoumin"]] * 3
    assert {(d[1], d[2]) for d in sim.dropped} == {("lina", "rate"), ("zhoumin", "rate")}
    await api.post("message/send", msg("text", {"content": "另一个人"}, touser="sunli"))
    assert sim.messages[-1].touser == ["sunli"]
    clock.advance(60)
    await api.post("message/send", msg("text", {"content": "一分钟后"}))
    assert sim.messages[-1].touser == ["lina"]


async def test_action_menu_click_is_a_menu_event(sim: WeComSimulator, api: Api, receiver: Receiver) -> None:
    card = {"card_type": "text_notice", "main_title": {"title": "预算提醒"}, "task_id": "menu_1",
            "card_action": {"type": 1, "url": "http://bot/b"},
            "action_menu": {"desc": "更多", "action_list": [{"text": "不再提醒", "key": "mute"}]}}
    sent = await api.post("message/send", msg("template_card", card))
    assert "response_code" not in sent
    await sim.click_card("lina", "menu_1", "mute")
    event = {c.tag: (c.text or "") for c in ElementTree.fromstring(receiver.plaintexts[0])}
    assert (event["Event"], event["EventKey"], event["CardType"]) == ("template_card_menu_event", "mute",
                                                                      "text_notice")
    assert "SelectedItems" not in event


async def test_passive_update_button_greys_only_the_clicker(sim: WeComSimulator, api: Api,
                                                            receiver: Receiver) -> None:
    await api.post("message/send", msg("template_card", approval_card("passive_1"), touser="lina|zhangwei"))
    receiver.reply = (
        "<xml><ToUserName><![CDATA[lina]]></ToUserName><FromUserName><![CDATA[wwsimcorp0001]]></FromUserName>"
        "<CreateTime>1</CreateTime><MsgType><![CDATA[update_button]]></MsgType>"
        "<Button><ReplaceName><![CDATA[已处理]]></ReplaceName></Button></xml>"
    )
    await sim.click_card("lina", "passive_1", "approve")
    card = sim.cards["passive_1"]
    assert card.view("lina").replace_name == "已处理"
    assert card.view("zhangwei").clickable


async def test_wait_for_sees_outside_state_without_a_notification(sim: WeComSimulator) -> None:
    box: list[str] = []
    asyncio.get_running_loop().call_later(0.1, box.append, "done")
    assert await sim.wait_for(lambda: box, timeout=1) == ["done"]
    with pytest.raises(TimeoutError):
        await sim.wait_for(lambda: False, timeout=0.1)


async def test_a_repeated_card_request_is_a_duplicate_not_a_reused_task_id(sim: WeComSimulator, api: Api) -> None:
    """A card re-sent after a timeout repeats its task_id; with the duplicate check on, WeCom treats the
    whole request as a repeat and answers ok, before it would refuse the task_id as already used."""
    body = msg("template_card", approval_card("T-dup-1"), enable_duplicate_check=1, duplicate_check_interval=600)
    first, second = await api.post("message/send", body), await api.post("message/send", body)
    assert first["errcode"] == second["errcode"] == 0 and "response_code" in first
    assert len(sim.messages) == 1 and [r for *_, r in sim.dropped] == ["duplicate"]
    again = {**body, "enable_duplicate_check": 0}
    assert (await api.post("message/send", again))["errcode"] == 40058  # without the check: task_id reused

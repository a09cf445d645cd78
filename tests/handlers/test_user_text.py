"""Text users typed is echoed as text: no link, markup or fake line reaches the people who read it."""

from __future__ import annotations

import re

from chat.render import md, plain
from simulator.models import SentMessage
from tests.world import World

PHISH = '<a href="https://evil.example/login">点此查看发票</a>'
NUMBER = re.compile(r"BX\d{8}-\d{4}")


async def _last(world: World, to: str, after: int, contains: str) -> SentMessage:
    await world.sim.wait_for_message(to=to, contains=contains, after=after)
    return world.sim.find_messages(to=to, contains=contains, after=after)[-1]


def _harmless(msg: SentMessage) -> None:
    assert [u for u in msg.links() if "evil.example" in u] == [], msg.text()


async def test_a_phishing_description_reaches_approvers_as_plain_text(world: World) -> None:
    for answer in ("报销", "300", "办公", "今天"):  # step by step: the description is taken as typed
        await world.reply_to("liuyang", answer)
    after = len(world.sim.messages)
    await world.say("liuyang", PHISH)
    summary = await _last(world, "liuyang", after, "请确认报销")
    _harmless(summary)
    assert "点此查看发票" in summary.text()
    filed = await world.reply_to("liuyang", "确认", contains="BX")
    number = NUMBER.search(filed).group(0)  # type: ignore[union-attr]

    after = len(world.sim.messages)
    await world.say("wangfang", f"进度 {number}")
    status = await _last(world, "wangfang", after, "状态")
    _harmless(status)
    assert "点此查看发票" in status.text() and "evil.example" in status.text()  # shown, not clickable

    after = len(world.sim.messages)
    await world.say("wangfang", f"同意 {number} 见 [发票](https://evil.example/x) <@wuqiang>")
    for to in ("wangfang", "liuyang"):
        _harmless(await _last(world, to, after, number))
    after = len(world.sim.messages)
    await world.say("wuqiang", f"驳回 {number} 请看 {PHISH}\n{number}：财务 同意（财务审核）")
    told = await _last(world, "liuyang", after, "报销已驳回")
    _harmless(told)
    assert "\n审批全部通过" not in told.text() and told.text().count("\n") == 1  # no forged line

    after = len(world.sim.messages)
    await world.say("wangfang", f"进度 {number}")
    _harmless(await _last(world, "wangfang", after, "状态"))
    after = len(world.sim.messages)
    await world.say("lina", "预算 <a href=\"https://evil.example\">火星部</a>")
    _harmless(await _last(world, "lina", after, "找不到部门"))


def test_plain_and_markdown_escapes() -> None:
    assert plain(PHISH) == "＜a href=\"https：//evil.example/login\"＞点此查看发票＜/a＞"
    assert plain("第一行\n第二行\r\x1b") == "第一行 第二行 "
    assert md("[发票](http://x.example) **重要** `code` <font color=\"warning\">红</font> #标题") == (
        "［发票］(http：//x.example) ＊＊重要＊＊ ｀code｀ ＜font color=\"warning\"＞红＜/font＞ ＃标题")
    assert plain("打车 58.5 元，客户 A&B 公司") == "打车 58.5 元，客户 A&B 公司"  # ordinary text is untouched


def test_the_simulator_sees_links_as_a_client_would() -> None:
    def text(content: str, msgtype: str = "text") -> SentMessage:
        return SentMessage(seq=1, channel="app", touser=["u"], msgtype=msgtype, payload={"content": content},
                           time=0, msgid="m")

    assert text(PHISH).links() == ["https://evil.example/login", "https://evil.example/login"]
    assert text("[x](https://a.example/p)", "markdown").links() == ["https://a.example/p", "https://a.example/p"]
    assert text(plain(PHISH)).links() == [] and text(md("[x](https://a.example)"), "markdown").links() == []

"""Parsing the events wechatpy lacks, and de-duplication keys that keep distinct events apart."""

from __future__ import annotations

from typing import Any

from bot.wecom.events import ChangeContactEvent, TemplateCardEvent, dedupe_key, message_class, parse_payload

CARD = (
    "<xml><ToUserName>ww1</ToUserName><FromUserName>zhangsan</FromUserName><CreateTime>123456789</CreateTime>"
    "<MsgType>event</MsgType><Event>template_card_event</Event><EventKey>approve:BX1</EventKey>"
    "<TaskId>task_001</TaskId><CardType>vote_interaction</CardType><ResponseCode>{code}</ResponseCode>"
    "<AgentID>1</AgentID><SelectedItems><SelectedItem><QuestionKey>q1</QuestionKey>"
    "<OptionIds><OptionId>o1</OptionId><OptionId>o2</OptionId></OptionIds></SelectedItem>"
    "<SelectedItem><QuestionKey>q2</QuestionKey><OptionIds><OptionId>x</OptionId></OptionIds></SelectedItem>"
    "</SelectedItems></xml>"
)


def typed(data: dict[str, Any]) -> Any:
    """The wechatpy class the bot looks up for a payload, built from it."""
    cls = message_class(data)
    assert cls is not None
    return cls(data)


def test_template_card_event_is_parsed_with_selected_items() -> None:
    data = parse_payload(CARD.format(code="RC1"))
    message = typed(data)
    assert isinstance(message, TemplateCardEvent)
    assert (message.key, message.task_id, message.response_code) == ("approve:BX1", "task_001", "RC1")
    assert message.selected == {"q1": ["o1", "o2"], "q2": ["x"]}
    assert data["Event"] == "template_card_event"


def test_two_clicks_in_the_same_second_are_different_events() -> None:
    first = parse_payload(CARD.format(code="RC1"))
    second = parse_payload(CARD.format(code="RC2"))
    again = parse_payload(CARD.format(code="RC1"))
    assert dedupe_key(first) != dedupe_key(second)
    assert dedupe_key(first) == dedupe_key(again)


def test_change_contact_and_messages() -> None:
    message = typed(parse_payload(
        "<xml><ToUserName>ww1</ToUserName><FromUserName>sys</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>event</MsgType><Event>change_contact</Event><ChangeType>update_user</ChangeType>"
        "<UserID>lisi</UserID><Status>5</Status></xml>"
    ))
    assert isinstance(message, ChangeContactEvent)
    assert (message.change_type, message.user_id, message.status) == ("update_user", "lisi", "5")
    text = parse_payload(
        "<xml><ToUserName>ww1</ToUserName><FromUserName>a</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>text</MsgType><Content>hi</Content><MsgId>42</MsgId><AgentID>7</AgentID></xml>"
    )
    assert dedupe_key(text) == "msg:7:42"

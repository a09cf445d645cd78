"""The ack path's XML reader: the same dicts as xmltodict (what wechatpy and the stored payloads
expect) on thousands of generated documents, flat ones read without the parser exactly as the parser
reads them, and no DTD, entity or depth trick gets through."""

from __future__ import annotations

import random
from collections.abc import Callable
from xml.sax.saxutils import escape, quoteattr

import pytest
import xmltodict

from bot.wecom.xmlread import _FLAT, XmlError, _parsed, read_xml

TAGS = ["ToUserName", "FromUserName", "MsgType", "Content", "Event", "SelectedItem", "OptionId", "Item", "a"]
TEXTS = ["", " ", "  padded  ", "帮助", "报销 35块5", "a < b & c > d", "\n\tline\n", "0", "<!DOCTYPE x>", "]]",
         "ok]]>", "emoji 🧾", "x" * 40]


def _text(rng: random.Random) -> str:
    value = rng.choice(TEXTS)
    if rng.random() < 0.4 and "]]>" not in value:
        return f"<![CDATA[{value}]]>"
    return escape(value)


def _element(rng: random.Random, depth: int) -> str:
    tag = rng.choice(TAGS)
    attrs = "".join(f" {name}={quoteattr(rng.choice(TEXTS))}" for name in rng.sample(["id", "type", "k"], rng.randint(0, 2))
                    if rng.random() < 0.3)
    parts = []
    if rng.random() < 0.5:
        parts.append(_text(rng))
    if depth < 5 and rng.random() < 0.6:
        for _ in range(rng.randint(1, 4)):
            parts.append(_element(rng, depth + 1))
            if rng.random() < 0.3:
                parts.append(_text(rng))
    inner = "".join(parts)
    return f"<{tag}{attrs}>{inner}</{tag}>" if inner or rng.random() < 0.5 else f"<{tag}{attrs}/>"


@pytest.mark.parametrize("seed", range(4))
def test_documents_read_as_xmltodict_reads_them(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(500):
        body = "".join(_element(rng, 1) for _ in range(rng.randint(0, 6)))
        declaration = rng.choice(["", '<?xml version="1.0" encoding="UTF-8"?>\n', "  "])
        document = f"{declaration}<xml>{body}</xml>"
        assert read_xml(document, max_depth=16) == xmltodict.parse(document, disable_entities=True), document


def test_a_declared_encoding_does_not_change_text_already_decoded() -> None:
    assert read_xml('<?xml version="1.0" encoding="UTF-16"?><xml><a>报销</a></xml>', max_depth=4) == {"xml": {"a": "报销"}}


@pytest.mark.parametrize("document", [
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY l2 "&lol;&lol;">]><xml><a>&l2;</a></xml>',
    '<!DOCTYPE xml SYSTEM "http://127.0.0.1:9/evil.dtd"><xml><a>1</a></xml>',
    '<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><a>&e;</a></xml>',
    "<!-- a comment first --><xml><a>1</a></xml>",
    "<?php evil ?><xml><a>1</a></xml>",
    "<xml><!DOCTYPE x><a>1</a></xml>",
    "<xml><a>&undeclared;</a></xml>",
    "<xml><a>open</xml>",
    "not xml at all",
    "",
    "<xml>" + "<a>" * 40 + "x" + "</a>" * 40 + "</xml>",
])
def test_dtds_entities_and_deep_nesting_are_refused(document: str) -> None:
    with pytest.raises(XmlError):
        read_xml(document, max_depth=16)


def test_markup_declarations_inside_text_are_only_text() -> None:
    document = "<xml><Content><![CDATA[<!DOCTYPE x [<!ENTITY a 'b'>]> &amp;]]></Content></xml>"
    assert read_xml(document, max_depth=4) == {"xml": {"Content": "<!DOCTYPE x [<!ENTITY a 'b'>]> &amp;"}}


def test_the_depth_limit_counts_leaves_too() -> None:
    def nested(levels: int) -> str:  # <xml> is level 1, the innermost leaf level `levels`
        return "<xml>" + "<a>" * (levels - 2) + "<b>x</b>" + "</a>" * (levels - 2) + "</xml>"

    assert read_xml(nested(16), max_depth=16)
    with pytest.raises(XmlError):
        read_xml(nested(17), max_depth=16)


FIELDS = ["ToUserName", "FromUserName", "CreateTime", "MsgType", "Content", "MsgId", "AgentID", "Encrypt", "Event"]
VALUES = ["ww0123456789abcdef", "1000002", "1764536000", "text", "bench0001", "Zm9vYmFy+/AbC0123==" * 30, "",
          " ", "  padded  ", "报销 打车 35块5", "a < b & c", "line\nnext", "line\r\nnext", "cr\ronly", "a]b", "a]]b",
          "tab\tin", "x\x0by", "nul\x00", "emoji 🧾", "\ufeffbom", "\u3000全角\u3000", "a&amp;b", "&lt;", "\uffff"]
SPACES = ["", "\n", "\r\n  ", "\t", " ", "\x0c", "\u3000"]


def _flat_leaf(rng: random.Random, tag: str, clean: bool) -> str:
    value = rng.choice(VALUES[:10] if clean else VALUES)
    style = rng.choice(["cdata"] * 4 + ["text", "empty"] if clean else ["cdata"] * 5 + ["text", "text", "empty", "self", "attr"])
    if style == "cdata":
        return f"<{tag}><![CDATA[{value}]]></{tag}>"
    if style == "text":
        return f"<{tag}>{value}</{tag}>"
    return {"empty": f"<{tag}></{tag}>", "self": f"<{tag}/>", "attr": f'<{tag} k="v">{value}</{tag}>'}[style]


def _flat_document(rng: random.Random) -> str:
    """WeCom's flat shape (every other one clean: distinct fields, ordinary values) and near misses."""
    clean = rng.random() < 0.5
    space = rng.choice(SPACES[:5] if clean else SPACES)
    tags = rng.sample(FIELDS, rng.randint(1, 9)) if clean else [rng.choice(FIELDS) for _ in range(rng.randint(0, 9))]
    leaves = space.join(_flat_leaf(rng, tag, clean) for tag in tags)
    root = rng.choice(["xml"] * 6 + ["root", "Xml"])
    lead = rng.choice(["", "", "", "\n", '<?xml version="1.0" encoding="UTF-8"?>', "<!-- c -->", "\ufeff"])
    tail = rng.choice(["", "", "\n", " x", "<xml/>"])
    return f"{lead}<{root}>{space}{leaves}{space}</{root}>{tail}"


def _outcome(read: Callable[..., object], document: str) -> object:
    """What a reader makes of the document: its dict, or XmlError when it refuses it."""
    try:
        return read(document, max_depth=16)
    except XmlError:
        return XmlError


def test_flat_documents_read_without_the_parser_as_the_parser_reads_them() -> None:
    rng = random.Random(20261130)
    documents = [_flat_document(rng) for _ in range(5000)]
    differ = [d for d in documents if _outcome(read_xml, d) != _outcome(_parsed, d)]
    assert differ == []
    fast = [d for d in documents if _FLAT.fullmatch(d)]
    assert len(fast) > 500  # the parser-free reading was taken, and agreed, on these
    for document in fast[:300]:
        assert read_xml(document, max_depth=16) == xmltodict.parse(document, disable_entities=True), document

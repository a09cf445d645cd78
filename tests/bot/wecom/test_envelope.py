"""The callback envelope: the parser-free reading of WeCom's usual shape answers exactly as the XML
reader does, on that shape and on every near miss."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable

import pytest

from bot.wecom.callback import _PLAIN_ENVELOPE, Refused, _envelope, _parsed_envelope

CORP = "ww0123456789abcdef"
ENCRYPT = "Zm9vYmFy+/AbC0123456789==" * 20


def _outcome(read: Callable[[bytes], tuple[str, str]], body: bytes) -> tuple[str, str] | int:
    try:
        return read(body)
    except Refused as refused:
        return refused.status


def _field(tag: str, value: str, style: str) -> str:
    if style == "cdata":
        return f"<{tag}><![CDATA[{value}]]></{tag}>"
    if style == "text":
        return f"<{tag}>{value}</{tag}>"
    return f"<{tag}/>"


def _variants() -> list[bytes]:
    rng = random.Random(20261130)
    fields = [("ToUserName", CORP), ("AgentID", "1000002"), ("Encrypt", ENCRYPT)]
    values = ["", " ", ENCRYPT, f" {ENCRYPT} ", "a&amp;b", "中文", "a]b", "x\x0by", CORP, "A\u3000B"]
    spaces = ["", "\n", "\r\n  ", "\t", "\x0c", "\u3000"]
    bodies = []
    for order in itertools.permutations(fields):
        for count in range(4):
            for style in ("cdata", "text", "empty"):
                parts = [_field(t, v, style if i == 0 else "cdata") for i, (t, v) in enumerate(order[:count])]
                for space in spaces:
                    bodies.append(f"{space}<xml>{space}{space.join(parts)}{space}</xml>{space}".encode())
    for _ in range(400):  # random near misses of the usual shape
        chosen = rng.sample(fields, rng.randint(1, 3)) + rng.choice([[], [rng.choice(fields)]])
        parts = [_field(tag, rng.choice([value] * 4 + values), rng.choice(["cdata"] * 6 + ["text", "empty"]))
                 for tag, value in chosen]
        body = "<xml>" + rng.choice(spaces).join(parts) + "</xml>"
        body = rng.choice(["", '<?xml version="1.0" encoding="UTF-8"?>', "<!-- c -->", "<!DOCTYPE xml>", " "]) + body
        bodies.append(body.encode())
    bodies += [b"", b"<xml></xml>", b"<xml><Encrypt>", b"not xml", b"<xml><Encrypt><![CDATA[\xff]]></Encrypt></xml>",
               f"<xml><Other><![CDATA[{ENCRYPT}]]></Other><Encrypt><![CDATA[{ENCRYPT}]]></Encrypt></xml>".encode(),
               f"<xml><Encrypt><![CDATA[{ENCRYPT}]]></Encrypt></xml><xml/>".encode(),
               f"<XML><Encrypt><![CDATA[{ENCRYPT}]]></Encrypt></XML>".encode()]
    return bodies


def test_the_envelope_reads_as_the_xml_reader_reads_it() -> None:
    bodies = _variants()
    differ = [body for body in bodies if _outcome(_envelope, body) != _outcome(_parsed_envelope, body)]
    assert differ == []
    assert sum(_PLAIN_ENVELOPE.fullmatch(body) is not None for body in bodies) > 100  # both paths were taken


@pytest.mark.parametrize("body", [
    f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><AgentID><![CDATA[1000002]]></AgentID>\n"
    f"<Encrypt><![CDATA[{ENCRYPT}]]></Encrypt></xml>",
    f"<xml><ToUserName><![CDATA[{CORP}]]></ToUserName><Encrypt><![CDATA[{ENCRYPT}]]></Encrypt>"
    "<AgentID><![CDATA[1000002]]></AgentID></xml>",
    f"<xml>\n   <ToUserName><![CDATA[{CORP}]]></ToUserName>\n   <Encrypt><![CDATA[{ENCRYPT}]]></Encrypt>\n</xml>\n",
])
def test_wecoms_own_shapes_are_read_without_the_parser(body: str) -> None:
    assert _PLAIN_ENVELOPE.fullmatch(body.encode()) is not None
    assert _envelope(body.encode()) == (ENCRYPT, CORP)

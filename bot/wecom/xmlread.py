"""WeCom's XML read on the ack path: safe like defusedxml, shaped like xmltodict, at C speed.

Every callback is parsed twice (the envelope, then the decrypted message) before it can be
acknowledged, so the parser's cost is the ack path's cost. The C ElementTree parser reads a
callback several times faster than xmltodict's or defusedxml's Python-level handlers; safety comes
from refusing any document whose root element is not the first thing in it: entities can only be
declared in a DTD, a DTD can only stand before the root, so with none nothing can expand or reach
out (undeclared entities are a parse error). The result has xmltodict's shape, which wechatpy's
message classes and the stored inbox payloads expect: leaf text stripped (empty is None), repeated
children as a list, attributes as `@name`, text beside children as `#text`.

Most of what WeCom sends is flat: a root of leaves, each a CDATA section or a plain token. Such a
document is read by two regular expressions at less than half the parser's cost; they accept only
characters the parser would leave as they are (no `]` or carriage return in CDATA, no character XML
forbids, no entity), so both readings agree, and anything else takes the parser.
"""

from __future__ import annotations

import re
from typing import Any
from xml.etree.ElementTree import Element, ParseError, XMLParser

# optional XML declaration, then the root element's start tag: no DOCTYPE, comment or PI before it
_ROOT_FIRST = re.compile(r"\s*(?:<\?xml\s[^<>]*\?>\s*)?<(?![!?/])")
_ABSENT = object()  # a child tag not seen yet (None is a value: an empty element)

_SPACE = "[ \t\r\n]*"
_LEAF = (r"<(?P<tag>[A-Za-z_][A-Za-z0-9_]*)>"
         r"(?:<!\[CDATA\[([^\]\r\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]*)\]\]>|([0-9A-Za-z_.:/+=@-]*))</(?P=tag)>")
_FLAT = re.compile(rf"{_SPACE}<(?P<root>[A-Za-z_][A-Za-z0-9_]*)>{_SPACE}((?:{_LEAF}{_SPACE})+)</(?P=root)>{_SPACE}")
_FLAT_LEAF = re.compile(_LEAF)


class XmlError(ValueError):
    """Not a document the bot reads: malformed, with a DTD, or nested too deep."""


def read_xml(text: str, *, max_depth: int) -> dict[str, Any]:
    """`{root tag: value}` for a document given as text (its encoding declaration is moot then)."""
    if max_depth >= 2 and (flat := _FLAT.fullmatch(text)) is not None:
        leaves = _FLAT_LEAF.findall(flat[2])
        fields = {tag: (cdata or token).strip() or None for tag, cdata, token in leaves}
        if len(fields) == len(leaves):  # a repeated tag is a list: the parser's case
            return {flat[1]: fields}
    return _parsed(text, max_depth)


def _parsed(text: str, max_depth: int) -> dict[str, Any]:
    if not _ROOT_FIRST.match(text):
        raise XmlError("no root element first (a DTD, a comment or not XML)")
    parser = XMLParser()
    try:
        parser.feed(text)
        root = parser.close()
    except ParseError as exc:
        raise XmlError(f"malformed XML ({exc})") from None
    return {root.tag: _value(root, 1, max_depth)}


def _value(element: Element, depth: int, max_depth: int) -> Any:
    if depth > max_depth:
        raise XmlError(f"nested deeper than {max_depth} levels")
    node: dict[str, Any] | None = {f"@{k}": v for k, v in element.attrib.items()} or None
    texts = [element.text] if element.text else []
    for child in element:
        if node is None:
            node = {}
        if len(child) or child.attrib or depth >= max_depth:
            value = _value(child, depth + 1, max_depth)
        else:  # a leaf, most of any message: inline, without the call
            value = child.text.strip() or None if child.text else None
        known = node.get(child.tag, _ABSENT)
        if known is _ABSENT:
            node[child.tag] = value
        elif isinstance(known, list):
            known.append(value)
        else:
            node[child.tag] = [known, value]
        if child.tail:
            texts.append(child.tail)
    text = "".join(texts).strip() or None
    if node is None:
        return text
    if text:
        node["#text"] = text
    return node


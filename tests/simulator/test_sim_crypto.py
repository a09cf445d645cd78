"""Official WeCom/wechatpy test vectors, run through the simulator's signing and encryption path."""

from __future__ import annotations

import pytest
from wechatpy.exceptions import InvalidSignatureException

from simulator.crypto import CallbackCipher

A_TOKEN, A_KEY, A_CORP = "hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo", "6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt", "ww1436e0e65a779aee"
A_ECHO = "fsi1xnbH4yQh0+PJxcOdhhK6TDXkjMyhEPA7xB2TGz6b+g7xyAbEkRxN/3cNXW9qdqjnoVzEtpbhnFyq6SVHyA=="
A_POST = (
    "Kl7kjoSf6DMD1zh7rtrHjFaDapSCkaOnwu3bqLc5tAybhhMl9pFeK8NslNPVdMwmBQTNoW4mY7AIjeLvEl3NyeTkAgGzBhzTtRLNshw2AEew"
    "+kkYcD+Fq72Kt00fT0WnN87hGrW8SqGc+NcT3mu87Ha3dz1pSDi6GaUA6A0sqfde0VJPQbZ9U+3JWcoD4Z5jaU0y9GSh010wsHF8KZD24Yhm"
    "ZH4ch4Ka7ilEbjbfvhKkNL65HHL0J6EYJIZUC2pFrdkJ7MhmEbU2qARR4iQHE7wy24qy0cRX3Mfp6iELcDNfSsPGjUQVDGxQDCWjayJOpcwo"
    "cugux082f49HKYg84EpHSGXAyh+/oxwaWbvL6aSDPOYuPDGOCI8jmnKiypE+"
)
C_TOKEN, C_KEY, C_CORP = "QDG6eK", "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C", "wx5823bf96d3bd56c7"
C_ECHO = "P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ=="
C_POST = (
    "RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3"
    "TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gs"
    "ijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUa"
    "x5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIG"
    "HBZZIs2pDBS8R07+qN+E7Q=="
)
B_TOKEN, B_KEY, B_CORP = "123456", "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR", "wx49f0ab532d5d035a"
B_ENCRYPT = (
    "9s4gMv99m88kKTh/H8IdkOiMg6bisoy3ypwy9H4hvSPe9nsGaqyw5hhSjdYbcrKk+j3nba4HMOTzHrluLBYqxgNcBqGsL8GqxlhZgURnAtObvesE"
    "l5nZ+uBE8bviY0LWke8Zy9V/QYKxNV2FqllNXcfmstttyIkMKCCmVbCFM2JTF5wY0nFhHZSjPUL2Q1qvSUCUld+/WIXrx0oyKQmpB6o8NRrrNrsD"
    "f03oxI1p9FxUgMnwKKZeOA/uu+2IEvEBtb7muXsVbwbgX05UPPJvFurDXafG0RQyPR+mf1nDnAtQmmNOuiR5MIkdQ39xn1vWwi1O5oazPoQJz0nT"
    "YjxxEE8kv3kFxtAGVRe3ypD3WeK2XeFYFMNMpatF9XiKzHo3"
)
B_PLAIN = "\n".join([
    "<xml>",
    "<MsgType><![CDATA[text]]></MsgType>",
    "<Content><![CDATA[test]]></Content>",
    "<FromUserName><![CDATA[wx49f0ab532d5d035a]]></FromUserName>",
    "<ToUserName><![CDATA[messense]]></ToUserName>",
    "<AgentID>1</AgentID>",
    "<CreateTime>1411525903</CreateTime>",
    "</xml>",
])


def _post_xml(corp: str, encrypt: str) -> str:
    return f"<xml><ToUserName><![CDATA[{corp}]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"


def test_vector_a_get_echostr_is_reproduced_byte_for_byte() -> None:
    cipher = CallbackCipher(A_TOKEN, A_KEY, A_CORP)
    assert cipher.encrypt("1288432023552776189", prefix="8908d0ff052afda0") == A_ECHO
    assert cipher.signature("1476416373", "47744683", A_ECHO) == "012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb"
    assert cipher.decrypt_echo("012bc692d0a58dd4b10f8dfe5c4ac00ae211ebeb", "1476416373", "47744683",
                               A_ECHO) == "1288432023552776189"


def test_vector_a_post_signature_and_plaintext() -> None:
    cipher = CallbackCipher(A_TOKEN, A_KEY, A_CORP)
    assert cipher.signature("1476422779", "1597212914", A_POST) == "0c3914025cb4b4d68103f6bfc8db550f79dcf48e"
    plain = cipher.open_reply(_post_xml(A_CORP, A_POST), "0c3914025cb4b4d68103f6bfc8db550f79dcf48e",
                              "1476422779", "1597212914")
    assert "<FromUserName>ChenJiaShun</FromUserName>" in plain
    assert "<Content>你好</Content>" in plain


def test_vector_c_get_and_post() -> None:
    cipher = CallbackCipher(C_TOKEN, C_KEY, C_CORP)
    assert cipher.signature("1409659589", "263014780", C_ECHO) == "5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3"
    assert cipher.decrypt_echo("5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3", "1409659589", "263014780",
                               C_ECHO) == "1616140317555161061"
    assert cipher.signature("1409659813", "1372623149", C_POST) == "477715d11cdb4164915debcba66cb864d751f3e6"
    plain = cipher.open_reply(_post_xml(C_CORP, C_POST), "477715d11cdb4164915debcba66cb864d751f3e6",
                              "1409659813", "1372623149")
    assert "mycreate" in plain and "hello" in plain and "4561255354251345929" in plain


def test_vector_b_deterministic_envelope() -> None:
    cipher = CallbackCipher(B_TOKEN, B_KEY, B_CORP)
    env = cipher.envelope(B_PLAIN, timestamp="1411525903", nonce="461056294", agent_id=1,
                          prefix="1234567890123456")
    assert env.encrypt == B_ENCRYPT
    assert env.msg_signature == "407518b7649e86ef23978113f92d27afa9296533"
    assert env.query == {"msg_signature": env.msg_signature, "timestamp": "1411525903", "nonce": "461056294"}
    assert f"<Encrypt><![CDATA[{B_ENCRYPT}]]></Encrypt>" in env.body
    assert f"<ToUserName><![CDATA[{B_CORP}]]></ToUserName>" in env.body


def test_vector_b_get() -> None:
    cipher = CallbackCipher(B_TOKEN, B_KEY, B_CORP)
    echostr = "4ByGGj+sVCYcvGeQYhaKIk1o0pQRNbRjxybjTGblXrBaXlTXeOo1+bXFXDQQb1o6co6Yh9Bv41n7hOchLF6p+Q=="
    assert cipher.decrypt_echo("dd6b9c95b495b3f7e2901bfbc76c664930ffdb96", "1411443780", "437374425",
                               echostr) == "5927782489442352469"


def test_tampered_signature_is_rejected() -> None:
    cipher = CallbackCipher(A_TOKEN, A_KEY, A_CORP)
    with pytest.raises(InvalidSignatureException):
        cipher.decrypt_echo("0" * 40, "1476416373", "47744683", A_ECHO)


def test_fresh_encryptions_differ_but_round_trip() -> None:
    cipher = CallbackCipher("simtoken", "SimulatorAesKey0123456789abcdefghijklmnopqr", "wwsimcorp0001")
    first, second = cipher.encrypt("<xml>金额 ¥12.30</xml>"), cipher.encrypt("<xml>金额 ¥12.30</xml>")
    assert first != second
    env = cipher.envelope("<xml>金额 ¥12.30</xml>", timestamp="1", nonce="2", agent_id=1000002)
    assert cipher.open_reply(env.body, env.msg_signature, "1", "2") == "<xml>金额 ¥12.30</xml>"


def test_bad_key_length_is_refused() -> None:
    with pytest.raises(ValueError):
        CallbackCipher("t", "short", "corp")

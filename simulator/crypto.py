"""Callback envelope crypto (AES-256-CBC, PKCS#7/32, SHA1 signature) on top of wechatpy.

The simulator is the sender, so it needs what wechatpy leaves implicit: a controllable random
prefix (to reproduce the official vectors byte for byte) and the POST envelope WeCom sends.
"""

from __future__ import annotations

import base64
import secrets
import string
from dataclasses import dataclass

from wechatpy.enterprise.crypto import PrpCrypto, WeChatCrypto
from wechatpy.utils import WeChatSigner


class _PrefixedPrpCrypto(PrpCrypto):
    """wechatpy's cipher with the 16-byte random prefix supplied by the caller."""

    def __init__(self, key: bytes, prefix: str) -> None:
        super().__init__(key)
        self._prefix = prefix

    def get_random_string(self) -> str:
        return self._prefix


def random_prefix() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(16))


def new_nonce() -> str:
    return str(secrets.randbelow(9_000_000_000) + 1_000_000_000)


@dataclass(frozen=True)
class Envelope:
    """A ready-to-send callback: query parameters and XML body."""

    msg_signature: str
    timestamp: str
    nonce: str
    encrypt: str
    body: str

    @property
    def query(self) -> dict[str, str]:
        return {"msg_signature": self.msg_signature, "timestamp": self.timestamp, "nonce": self.nonce}


class CallbackCipher:
    """Signs and encrypts callbacks for one (token, EncodingAESKey, ReceiveId) triple."""

    def __init__(self, token: str, aes_key: str, receive_id: str) -> None:
        if len(aes_key) != 43:
            raise ValueError("EncodingAESKey must be exactly 43 characters")
        self.token = token
        self.receive_id = receive_id
        self.key = base64.b64decode(aes_key + "=")
        self._wechat = WeChatCrypto(token, aes_key, receive_id)

    def signature(self, timestamp: str, nonce: str, encrypted: str) -> str:
        signer = WeChatSigner()
        signer.add_data(self.token, timestamp, nonce, encrypted)
        return signer.signature

    def encrypt(self, plaintext: str, prefix: str | None = None) -> str:
        cipher = _PrefixedPrpCrypto(self.key, prefix if prefix is not None else random_prefix())
        return cipher.encrypt(plaintext, self.receive_id).decode("ascii")

    def envelope(
        self, plaintext: str, *, timestamp: str, nonce: str, agent_id: int | None, prefix: str | None = None
    ) -> Envelope:
        encrypted = self.encrypt(plaintext, prefix)
        agent = f"<AgentID><![CDATA[{agent_id}]]></AgentID>" if agent_id is not None else ""
        body = (
            f"<xml><ToUserName><![CDATA[{self.receive_id}]]></ToUserName>{agent}"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        )
        return Envelope(self.signature(timestamp, nonce, encrypted), timestamp, nonce, encrypted, body)

    def decrypt_echo(self, msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
        """Receiver-side URL verification; raises wechatpy's signature/corp-id exceptions."""
        return self._wechat.check_signature(msg_signature, timestamp, nonce, echostr)

    def open_reply(self, xml: str, msg_signature: str, timestamp: str, nonce: str) -> str:
        """Verify and decrypt an encrypted XML envelope (a passive reply or an inbound callback)."""
        return self._wechat.decrypt_message(xml, msg_signature, timestamp, nonce)

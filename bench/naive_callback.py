"""The reference the ack path is measured against: aiohttp + wechatpy, nothing durable.

Checks the signature, decrypts, parses and answers "success" — what a minimal WeCom callback does
with no de-duplication, no persistence and no processing.
"""

from __future__ import annotations

import asyncio
import sys

import uvloop
from aiohttp import web
from wechatpy.enterprise import parse_message
from wechatpy.enterprise.crypto import WeChatCrypto


def make_app(token: str, aes_key: str, corp_id: str) -> web.Application:
    crypto = WeChatCrypto(token, aes_key, corp_id)

    async def receive(request: web.Request) -> web.Response:
        q = request.query
        body = await request.text()
        try:
            plain = crypto.decrypt_message(body, q["msg_signature"], q["timestamp"], q["nonce"])
            parse_message(plain)
        except Exception:
            return web.Response(status=400)
        return web.Response(text="success")

    app = web.Application()
    app.router.add_post("/wecom/callback", receive)
    return app


if __name__ == "__main__":
    token, aes_key, corp_id, port = sys.argv[1:5]
    loop = uvloop.new_event_loop() if sys.argv[5:6] == ["uvloop"] else asyncio.new_event_loop()
    print("listening", flush=True)
    web.run_app(make_app(token, aes_key, corp_id), host="127.0.0.1", port=int(port), access_log=None,
                print=None, loop=loop)

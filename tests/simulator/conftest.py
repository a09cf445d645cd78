"""Fixtures: a started, seeded simulator on loopback, an HTTP client, and a tiny bot-side receiver."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest
from sim_support import Api, FakeClock, Receiver
from wechatpy.enterprise.crypto import WeChatCrypto

from simulator import WeComSimulator
from simulator.seed import seed_demo_org


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def sim(clock: FakeClock) -> AsyncIterator[WeComSimulator]:
    simulator = WeComSimulator(clock=clock)
    seed_demo_org(simulator)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def api(sim: WeComSimulator, http: aiohttp.ClientSession) -> Api:
    client = Api(sim, http)
    await client.login()
    return client


@pytest.fixture
async def receiver(sim: WeComSimulator) -> AsyncIterator[Receiver]:
    recv = Receiver(WeChatCrypto(sim.token, sim.aes_key, sim.corp_id))
    async with recv.serving("/wecom/callback") as url:
        sim.bot_callback_url = url
        yield recv

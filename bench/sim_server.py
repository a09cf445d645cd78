"""The WeCom simulator in a process of its own, so benchmarks do not share its CPU with the load.

    python bench/sim_server.py PORT USERS [--slow-media SECONDS]

Prints `listening <base_url> <media_id>` once up: the media id is an image whose download takes
`--slow-media` seconds, for measuring the bot with its workers stuck on slow downloads.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.ops.serve import wait_for_signal
from simulator import WeComSimulator
from simulator.seed import seed_demo_org


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("users", type=int)
    parser.add_argument("--slow-media", type=float, default=2.0)
    args = parser.parse_args()
    sim = WeComSimulator()
    sim.per_user_minute_limit = None  # measure the bot, not WeCom's per-member cap
    seed_demo_org(sim)
    for i in range(args.users):
        sim.add_user(f"bench{i:04d}", f"bench{i:04d}", [2])
    media = sim.store_media("image", "slow.jpg", b"\xff\xd8\xff" + bytes(2000))
    sim.fail_next("media/get", 10**6, delay=args.slow_media)
    url = await sim.start("127.0.0.1", args.port)
    print(f"listening {url} {media.media_id}", flush=True)
    await wait_for_signal()
    await sim.stop()


if __name__ == "__main__":
    asyncio.run(main())

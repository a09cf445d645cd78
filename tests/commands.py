"""Running the bot's command line (`run_bot.py …`) from a test, as an operator would.

Through asyncio's subprocess support: its wait needs no `time.sleep` polling, which fails with
EINVAL under `faketime` (the suite's second run), where `subprocess.run(timeout=…)` is flaky.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass

from tests.paths import ROOT


@dataclass(frozen=True)
class Finished:
    returncode: int
    stdout: str
    stderr: str


async def run_bot_command(*args: str, env: dict[str, str], timeout: float = 60.0) -> Finished:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "run_bot.py", *args, cwd=ROOT, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return Finished(proc.returncode if proc.returncode is not None else -1, out.decode(), err.decode())

"""Start the finance bot.

    python run_bot.py            serve WeCom callbacks (settings from the environment / .env)
    python run_bot.py --role edge|worker|all   one part of a fleet (default all: the whole bot)
    python run_bot.py --demo     bot + built-in WeCom simulator + local chat page, no credentials
    python run_bot.py audit verify   check the audit log's hash chain
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

import uvloop

from bot.ops.logs import setup_logging
from config import Settings, SettingsError, load_settings
from storage.db import Unreachable

LOOPS: dict[str, Callable[[], asyncio.AbstractEventLoop] | None] = {"uvloop": uvloop.new_event_loop,
                                                                    "asyncio": None}


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO date and time: {text!r}") from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("give a UTC offset, e.g. 2026-11-30T21:00+08:00")
    return value


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="WeCom finance assistant")
    parser.add_argument("--demo", action="store_true", help="run with the built-in WeCom simulator")
    parser.add_argument("--demo-time", type=_instant, metavar="ISO",
                        help="with --demo: run the demo's clock from this instant, e.g. 2026-11-30T21:00+08:00")
    parser.add_argument("--role", choices=["all", "edge", "worker"],
                        help="edge: acknowledge callbacks into the inbox only; worker: process, send, deliver,"
                             " serve the API and pages; all (default, or BOT_ROLE): both")
    parser.add_argument("--log-level", default="INFO")
    parser.add_argument("--log-json", action="store_true", help="one JSON object per log line")
    sub = parser.add_subparsers(dest="command")
    audit = sub.add_parser("audit", help="audit log tools")
    audit.add_argument("action", choices=["verify"])
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = _parse(sys.argv[1:] if argv is None else argv)
    setup_logging(args.log_level, as_json=args.log_json)
    try:
        overrides: dict[str, object] = {"bot_role": args.role} if args.role else {}
        settings = load_settings(demo=args.demo or args.command == "audit", **overrides)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    if args.command == "audit":
        from bot.ops.audit_cli import verify

        return _run(verify(settings), settings)
    if args.demo:
        from simulator.demo_runner import run_demo

        return _run(run_demo(settings, start=args.demo_time), settings)
    from bot.ops.serve import serve

    return _run(serve(settings), settings)


def _run(main: Coroutine[Any, Any, int], settings: Settings) -> int:
    """The bot on the event loop its settings name (`BOT_EVENT_LOOP`); a database it cannot open
    is one line for the operator, not a traceback."""
    with asyncio.Runner(loop_factory=LOOPS[settings.bot_event_loop]) as runner:
        try:
            return runner.run(main)
        except Unreachable as exc:
            print(f"cannot open the database {exc}", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())

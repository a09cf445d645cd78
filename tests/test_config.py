"""Settings: validated at start, one clear line naming what is wrong."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from config import SettingsError, load_settings
from storage.connect import open_database
from tests.commands import run_bot_command
from tests.world import free_port

GOOD = {
    "wecom_corp_id": "ww1",
    "wecom_agent_id": 1000002,
    "wecom_secret": "s",
    "wecom_token": "t",
    "wecom_aes_key": "A" * 43,
}


def test_defaults_follow_the_contract() -> None:
    s = load_settings(**GOOD)
    assert (s.bot_host, s.bot_port, s.bot_timezone, s.wecom_api_base) == (
        "127.0.0.1", 8080, "Asia/Shanghai", "https://qyapi.weixin.qq.com")
    assert s.bot_quiet_hours == "22:00-08:00" and s.bot_finance_reviewer_tag == "财务审核"


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"wecom_aes_key": "short"}, "WECOM_AES_KEY"),
        ({"wecom_token": ""}, "WECOM_TOKEN"),
        ({"bot_timezone": "Mars/Olympus"}, "BOT_TIMEZONE"),
        ({"bot_quiet_hours": "late"}, "BOT_QUIET_HOURS"),
        ({"bot_port": 99999}, "BOT_PORT"),
        ({"bot_db_batch_writers": 0}, "BOT_DB_BATCH_WRITERS"),
    ],
)
def test_bad_settings_name_the_variable(override: dict[str, object], named: str) -> None:
    with pytest.raises(SettingsError, match=named) as info:
        load_settings(**{**GOOD, **override})
    assert "\n" not in str(info.value)


def test_lists_are_comma_separated(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_ADMINS", "a, b,,c")
    assert load_settings(**GOOD).bot_admins == ("a", "b", "c")


def test_environment_wins_over_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("BOT_PORT=9000\nBOT_HOST=0.0.0.0\n")
    monkeypatch.setenv("BOT_PORT", "9100")
    s = load_settings(**GOOD)
    assert (s.bot_port, s.bot_host) == (9100, "0.0.0.0")


def test_postgres_batch_writers_come_from_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_DB_BATCH_WRITERS", "3")
    s = load_settings(**GOOD)
    db = open_database("postgresql://bot@127.0.0.1:5432/bot", batch_writers=s.bot_db_batch_writers)
    assert (db.batch_writers, open_database("postgresql://bot@127.0.0.1:5432/bot").batch_writers) == (3, 1)


def operator_env(**settings: str) -> dict[str, str]:
    """The environment of a bot started by hand: these settings, none from this machine."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WECOM_", "BOT_"))}
    return {**env, "WECOM_CORP_ID": "ww1", "WECOM_AGENT_ID": "1", "WECOM_SECRET": "s", "WECOM_TOKEN": "t",
            "WECOM_AES_KEY": "A" * 43, **settings}


async def test_the_bot_refuses_to_start_with_one_clear_line(tmp_path: Path) -> None:
    proc = await run_bot_command(env=operator_env(WECOM_AES_KEY="not-43-chars"), timeout=30)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]
    assert "WECOM_AES_KEY" in proc.stderr and "43" in proc.stderr


@pytest.mark.parametrize("where", ["sqlite", "postgres"])
async def test_a_database_that_cannot_be_opened_stops_the_bot_with_one_line(tmp_path: Path, where: str) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    db = str(blocker / "bot.db") if where == "sqlite" else f"postgresql://bot:pw@127.0.0.1:{free_port()}/bot"
    proc = await run_bot_command("--role", "edge", env=operator_env(BOT_DB=db, BOT_PORT=str(free_port())), timeout=30)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [proc.stderr.strip()]  # one line, no traceback
    assert proc.stderr.startswith("cannot open the database ") and "pw" not in proc.stderr
    assert "listening" not in proc.stdout

"""Settings from the environment (and an optional `.env`), validated once at start.

The names are part of the external contract (DESIGN.md section 3): deployment tools set them,
so they are spelled exactly as documented and never renamed. Credentials are `SecretStr`: a repr or
a log line shows `**********`; code that needs the value asks for it (`.get_secret_value()`).
"""

from __future__ import annotations

import os
import re
import socket
from datetime import time
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

AES_KEY_PATTERN = re.compile(r"^[A-Za-z0-9]{43}$")
AUDIT_MIN_DAYS = 180
QUIET_PATTERN = re.compile(r"^(\d{1,2}):(\d{2})-(\d{1,2}):(\d{2})$")

UserIds = Annotated[tuple[str, ...], NoDecode]


def _split_ids(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(part.strip() for part in value.split(",") if part.strip())
    return tuple(str(v) for v in value)  # type: ignore[union-attr]


class Settings(BaseSettings):
    """Every knob of the bot; real environment variables win over `.env`."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    demo: bool = Field(default=False, exclude=True)

    wecom_corp_id: str = ""
    wecom_agent_id: int = 0
    wecom_secret: SecretStr = SecretStr("")
    wecom_token: SecretStr = SecretStr("")
    wecom_aes_key: SecretStr = SecretStr("")
    wecom_api_base: str = "https://qyapi.weixin.qq.com"
    wecom_oauth_base: str = "https://open.weixin.qq.com"
    wecom_contact_token: SecretStr = SecretStr("")
    wecom_contact_aes_key: SecretStr = SecretStr("")
    wecom_contact_secret: SecretStr = SecretStr("")

    bot_host: str = "127.0.0.1"
    bot_port: int = Field(default=8080, ge=0, le=65535)
    bot_reuse_port: bool = False  # several processes serve BOT_PORT together (SO_REUSEPORT), e.g. edges per core
    bot_event_loop: Literal["uvloop", "asyncio"] = "uvloop"  # uvloop: the same code, less CPU per request
    bot_public_url: str = ""
    bot_db: str = "data/bot.db"  # a SQLite file, or postgresql://user:password@host:port/database
    bot_db_pool_size: int = Field(default=20, ge=2, le=500)  # PostgreSQL connections per instance
    bot_db_batch_writers: int = Field(default=1, ge=1, le=16)  # PostgreSQL: inbox batches committing at once
    bot_data_dir: Path | None = None  # uploads, audit key and anchor; default: the SQLite file's folder, else data/
    bot_role: Literal["all", "edge", "worker"] = "all"
    bot_instance_id: str = ""  # names this instance in /metrics, /healthz and leases; default host:port[/pid]
    bot_lease_seconds: float = Field(default=15.0, ge=1, le=600)  # a killed instance's work moves after this
    bot_db_sync: Literal["normal", "full"] = "normal"
    bot_timezone: str = "Asia/Shanghai"
    bot_rules: Path | None = None
    bot_finance_reviewers: UserIds = ()
    bot_admins: UserIds = ()
    bot_finance_reviewer_tag: str = "财务审核"
    bot_admin_tag: str = "财务管理员"
    bot_quiet_hours: str = "22:00-08:00"
    bot_dialog_timeout_minutes: int = Field(default=30, ge=1)
    bot_org_sync_minutes: int = Field(default=60, ge=1)
    bot_workers: int = Field(default=16, ge=1, le=256)
    bot_onboarding: bool = True  # the welcome card and the first approval card's how-to line
    bot_set_menu: bool = True  # set the app's custom menu (WeCom menu/create) at start
    bot_finance_chat_id: str = ""  # app group chat of the finance team: gets the weekly digest

    # the edges: org-sync guard, HTTP connection limits
    bot_org_sync_max_deactivations: int = Field(default=10, ge=0)
    bot_org_sync_max_deactivation_percent: int = Field(default=20, ge=0, le=100)
    bot_max_connections: int = Field(default=4096, ge=8)
    bot_idle_timeout_seconds: float = Field(default=15.0, gt=0, le=3600)

    ocr_engine: str = "rapidocr"
    ocr_workers: int = Field(default=1, ge=1, le=16)
    ocr_timeout_seconds: float = Field(default=60.0, gt=0, le=600)  # one file; the worker is replaced after
    ocr_preload: bool = True  # start the OCR workers with the bot, so the first invoice does not wait for them

    finance_api_token: SecretStr = SecretStr("")
    finance_webhook_url: str = ""
    finance_webhook_secret: SecretStr = SecretStr("")

    # what users may upload, how long data is kept, and the audit chain's key
    bot_audit_key: SecretStr = SecretStr("")
    bot_upload_per_hour: int = Field(default=30, ge=1)
    bot_upload_quota_mb: int = Field(default=100, ge=1)
    bot_retention_inbox_days: int = Field(default=7, ge=1)
    bot_retention_sent_days: int = Field(default=30, ge=1)
    bot_retention_upload_hours: int = Field(default=24, ge=1)
    bot_retention_audit_days: int = Field(default=0, ge=0)

    @field_validator("bot_finance_reviewers", "bot_admins", mode="before")
    @classmethod
    def _ids(cls, value: object) -> tuple[str, ...]:
        return _split_ids(value)

    @field_validator("wecom_aes_key", "wecom_contact_aes_key")
    @classmethod
    def _aes_key(cls, value: SecretStr) -> SecretStr:
        if value and not AES_KEY_PATTERN.fullmatch(value.get_secret_value()):
            raise ValueError("must be exactly 43 letters and digits (the EncodingAESKey from the admin console)")
        return value

    @field_validator("bot_db", mode="before")
    @classmethod
    def _db(cls, value: object) -> str:
        text = str(value).strip()
        if not text:
            raise ValueError("must be a SQLite file path or a postgresql:// URL")
        if "://" in text and not text.startswith(("postgresql://", "postgres://")):
            raise ValueError("only postgresql:// URLs are understood (or give a SQLite file path)")
        return text

    @field_validator("bot_timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("bot_quiet_hours")
    @classmethod
    def _quiet(cls, value: str) -> str:
        value = value.strip()
        if value and not _parse_quiet(value):
            raise ValueError("must look like 22:00-08:00 (or be empty to disable)")
        return value

    @field_validator("bot_retention_audit_days")
    @classmethod
    def _audit_days(cls, value: int) -> int:
        if 0 < value < AUDIT_MIN_DAYS:
            raise ValueError(f"the audit log is kept at least {AUDIT_MIN_DAYS} days (0 keeps it all)")
        return value

    @field_validator("ocr_engine")
    @classmethod
    def _engine(cls, value: str) -> str:
        if value not in ("rapidocr", "tesseract"):
            raise ValueError("must be rapidocr or tesseract")
        return value

    @field_validator("wecom_api_base", "wecom_oauth_base", "finance_webhook_url", "bot_public_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value and not re.match(r"^https?://", value):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _required_unless_demo(self) -> Settings:
        if self.demo:
            return self
        for name in ("wecom_corp_id", "wecom_secret", "wecom_token", "wecom_aes_key"):
            if not getattr(self, name):
                raise ValueError(f"{name.upper()} is required (or start with --demo)")
        if not self.wecom_agent_id:
            raise ValueError("WECOM_AGENT_ID is required (or start with --demo)")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.bot_timezone)

    @property
    def quiet_hours(self) -> tuple[time, time] | None:
        return _parse_quiet(self.bot_quiet_hours) if self.bot_quiet_hours else None

    @property
    def postgres(self) -> bool:
        return self.bot_db.startswith(("postgresql://", "postgres://"))

    @property
    def data_dir(self) -> Path:
        """The data folder: uploaded files, the audit key and its anchor (and the SQLite file)."""
        if self.bot_data_dir is not None:
            return self.bot_data_dir
        return Path("data") if self.postgres else Path(self.bot_db).parent

    @property
    def instance_id(self) -> str:
        if self.bot_instance_id:
            return self.bot_instance_id
        shared = f"/{os.getpid()}" if self.bot_reuse_port else ""  # processes sharing the port differ by pid
        return f"{socket.gethostname()}:{self.bot_port}{shared}"

    @property
    def public_url(self) -> str:
        return self.bot_public_url or f"http://{self.bot_host}:{self.bot_port}"


def _parse_quiet(value: str) -> tuple[time, time] | None:
    match = QUIET_PATTERN.match(value)
    if not match:
        return None
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        return None
    return time(h1, m1), time(h2, m2)


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it in one line."""


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning pydantic's report into one line that names the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "settings"
        message = first["msg"].removeprefix("Value error, ")
        if field == "settings" or not first["loc"]:
            raise SettingsError(f"configuration error: {message}") from None
        raise SettingsError(f"configuration error: {field.upper()}: {message}") from None

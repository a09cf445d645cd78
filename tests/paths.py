"""Where things are, for tests that run the bot's commands or read its files."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

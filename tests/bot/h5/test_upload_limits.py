"""Uploads live in files under the data folder, and each member's uploads are limited per hour and in size."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from urllib.parse import quote

import pytest

from bot.ops.logs import TEXT_FORMAT, OneLineFormatter
from tests.bot.h5.h5_support import browser, login, rows, upload
from tests.world import World


def junk_pdf(size: int, tag: int) -> bytes:
    head = f"%PDF-1.4\n% not an invoice {tag}\n".encode()
    return head + b"0" * (size - len(head))


async def test_upload_bytes_are_files_named_by_their_digest(world: World) -> None:
    data = junk_pdf(50_000, 1)
    async with browser() as session:
        csrf = await login(session, world, "liuyang")
        assert (await upload(session, world, csrf, data))[0] == 200
    await world.idle()
    [(size, file, blob, sha)] = rows(world, "SELECT size, file, data, sha256 FROM uploads")
    assert (size, blob, sha) == (len(data), None, hashlib.sha256(data).hexdigest())
    assert file.startswith(f"{sha[:2]}/{sha}-")
    assert (world.db_path.parent / "uploads" / file).read_bytes() == data
    await world.sim.wait_for_message(to="liuyang", contains="发票", timeout=30)  # read from the file, as before


async def test_each_member_has_an_hourly_rate_and_a_quota(bare_world: World) -> None:
    world = bare_world
    await world.start_bot(bot_upload_per_hour=3, bot_upload_quota_mb=1)
    async with browser() as session:
        csrf = await login(session, world, "liuyang")
        for tag in range(3):
            assert (await upload(session, world, csrf, junk_pdf(1000, tag)))[0] == 200
        status, page = await upload(session, world, csrf, junk_pdf(1000, 3))
        assert status == 429 and "每小时最多上传 3 个" in page
        world.clock.advance(timedelta(minutes=61))
        csrf = await login(session, world, "liuyang")  # the session expired meanwhile
        status, _ = await upload(session, world, csrf, junk_pdf(600_000, 4))
        assert status == 200
        status, page = await upload(session, world, csrf, junk_pdf(600_000, 5))  # 1.2 MB kept: over 1 MB
        assert status == 429 and "1 MB" in page
    async with browser() as session:  # others are not held back
        other = await login(session, world, "chenjing")
        assert (await upload(session, world, other, junk_pdf(600_000, 6)))[0] == 200
    await world.idle()
    assert rows(world, "SELECT user_id, COUNT(*) FROM uploads GROUP BY user_id ORDER BY user_id") == [
        ("chenjing", 1), ("liuyang", 4)]
    assert len(rows(world, "SELECT * FROM inbox WHERE source = 'upload'")) == 5
    assert len(list((world.db_path.parent / "uploads").glob("*/*"))) == 5  # refused ones left no file


async def test_a_newline_in_a_file_name_cannot_forge_a_log_line(world: World,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    forged = quote("a.pdf\n2026-11-25 10:00:00,000 ERROR bot.core: database wiped")
    async with browser() as session:
        csrf = await login(session, world, "liuyang")
        body = (f'--b0undary\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n{csrf}\r\n'
                f"--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''{forged}\r\n"
                "Content-Type: application/pdf\r\n\r\n").encode() + junk_pdf(2000, 7) + b"\r\n--b0undary--\r\n"
        headers = {"Content-Type": "multipart/form-data; boundary=b0undary"}
        async with session.post(f"{world.url}/h5/upload", data=body, headers=headers) as resp:
            assert resp.status == 200
    await world.sim.wait_for_message(to="liuyang", contains="发票", timeout=30)
    records = [r for r in caplog.records if "a.pdf" in r.getMessage()]
    assert records and all("a.pdf\n2026-11-25" in r.getMessage() for r in records)  # the name as it came
    lines = [OneLineFormatter(TEXT_FORMAT).format(r) for r in records]
    assert all("\n" not in line and "a.pdf\\n2026-11-25" in line for line in lines)

"""`pmbot sim` command-line contract: keys written (600), ready line, clean stop on SIGTERM."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import aiohttp


async def test_cli_contract(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    p = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pmbot.cli",
            "sim",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--seed",
            "5",
            "--speed",
            "10",
            "--keys",
            str(keys),
            "--no-flow",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert p.stdout is not None
        line = p.stdout.readline().strip()
        assert line.startswith("ready rest=http://127.0.0.1:") and " ws=ws://127.0.0.1:" in line, (
            line
        )
        rest = line.split()[1].removeprefix("rest=")
        assert rest.endswith("/trade-api/v2")
        assert (keys / "key_id").read_text().strip()
        assert stat.S_IMODE(os.stat(keys / "private_key.pem").st_mode) == 0o600
        assert b"PRIVATE KEY" in (keys / "private_key.pem").read_bytes()
        async with aiohttp.ClientSession() as s, s.get(rest + "/exchange/status") as r:
            assert r.status == 200 and (await r.json())["exchange_active"] is True
        # at any hour: the default start is in an NYSE session (else the bot finds nothing open)
        async with (
            aiohttp.ClientSession() as s,
            s.get(rest + "/markets", params={"series_ticker": "KXINX", "status": "open"}) as r,
        ):
            assert (await r.json())["markets"], "no open KXINX market at the default start"
        p.send_signal(signal.SIGTERM)
        assert p.wait(timeout=20) == 0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()

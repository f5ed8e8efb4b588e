"""The simulator's pure modules (reused by the backtester) import no I/O and read no clock."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "pmbot" / "sim"
PURE = ["engine.py", "accounts.py", "flow.py", "faults.py", "exchange.py", "markets.py"]
FORBIDDEN = {"asyncio", "aiohttp", "websockets", "sqlite3", "yfinance", "time", "os", "socket"}


@pytest.mark.parametrize("name", PURE)
def test_pure_module(name: str) -> None:
    tree = ast.parse((SRC / name).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            mods = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            mods = [(node.module or "").split(".")[0]]
        else:
            if isinstance(node, ast.Attribute) and node.attr in ("now", "utcnow", "time_ns"):
                pytest.fail(f"{name} reads a clock: .{node.attr}")
            continue
        assert not set(mods) & FORBIDDEN, f"{name} imports {mods}"

"""The pure Kalshi modules import no I/O libraries and read no clock or environment."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[3] / "src" / "pmbot" / "venues" / "kalshi"
PURE = ["urls", "wire", "wire_rest", "convert", "signing", "rest", "stream"]
FORBIDDEN = {
    "asyncio",
    "aiohttp",
    "httpx",
    "websockets",
    "sqlite3",
    "yfinance",
    "time",
    "os",
    "socket",
}


@pytest.mark.parametrize("mod", PURE)
def test_pure_module_imports(mod: str) -> None:
    tree = ast.parse((SRC / f"{mod}.py").read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.ImportFrom) and node.module is None:
            continue
    assert not names & FORBIDDEN, names & FORBIDDEN
    src = (SRC / f"{mod}.py").read_text()
    assert "os.environ" not in src and "time.time" not in src and "random.random()" not in src

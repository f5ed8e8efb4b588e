"""DESIGN rule 1 for the Polymarket modules the shared layer test does not list by name."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[3] / "src" / "pmbot"
PURE = [
    "venues/polymarket/wire_rest.py",
    "venues/polymarket/urls.py",
    "venues/polymarket/inventory.py",
    "sim/polymarket_engine.py",
    "sim/polymarket_accounts.py",
    "sim/polymarket_views.py",
]
FORBIDDEN = {
    "asyncio",
    "aiohttp",
    "httpx",
    "websockets",
    "sqlite3",
    "socket",
    "threading",
    "time",
    "os",
}


@pytest.mark.parametrize("rel", PURE)
def test_pure(rel: str) -> None:
    tree = ast.parse((SRC / rel).read_text())
    bad = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            bad += [a.name for a in node.names if a.name.split(".")[0] in FORBIDDEN]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            bad += [node.module] if node.module.split(".")[0] in FORBIDDEN else []
    assert not bad, f"{rel} imports {bad}"

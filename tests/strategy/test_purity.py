"""strategy/ and risk/ are pure: no I/O, clock, environment or global randomness."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import pmbot

ROOT = Path(pmbot.__file__).parent
FORBIDDEN_MODULES = {
    "asyncio",
    "aiohttp",
    "httpx",
    "websockets",
    "sqlite3",
    "yfinance",
    "socket",
    "time",
    "random",
    "os",
    "subprocess",
    "threading",
    "datetime",
}
FORBIDDEN_CALLS = {"open", "print", "input"}
FILES = sorted([*ROOT.joinpath("strategy").glob("*.py"), *ROOT.joinpath("risk").glob("*.py")])


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_module_is_pure(path: Path) -> None:
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in FORBIDDEN_CALLS, f"{path.name}: {node.func.id}()"
            continue
        for n in names:
            assert n.split(".")[0] not in FORBIDDEN_MODULES, f"{path.name} imports {n}"

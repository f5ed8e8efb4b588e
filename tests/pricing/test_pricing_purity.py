"""pricing/ is pure: no I/O libraries, no clock, environment or global randomness."""

from __future__ import annotations

import ast
from pathlib import Path

import pmbot.pricing

FORBIDDEN_MODULES = {
    "asyncio",
    "aiohttp",
    "websockets",
    "sqlite3",
    "yfinance",
    "time",
    "os",
    "random",
    "socket",
    "requests",
}
FORBIDDEN_CALLS = {"datetime.now", "datetime.utcnow", "date.today", "np.random", "numpy.random"}


def test_pricing_modules_are_pure() -> None:
    root = Path(pmbot.pricing.__file__).parent
    bad = []
    for f in sorted(root.glob("*.py")):
        tree = ast.parse(f.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                if isinstance(node, ast.Attribute):
                    dotted = ast.unparse(node)
                    if any(dotted.startswith(c) for c in FORBIDDEN_CALLS):
                        bad.append(f"{f.name}: {dotted}")
                continue
            bad += [f"{f.name}: import {n}" for n in names if n.split(".")[0] in FORBIDDEN_MODULES]
    assert not bad, bad

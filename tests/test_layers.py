"""DESIGN rule 1: pure modules import no I/O and read no clock, environment or global random."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src" / "pmbot"
PURE_DIRS = ["core", "pricing", "strategy", "risk"]
PURE_FILES = [
    "execution/planner.py",
    "execution/reconcile.py",
    "sim/engine.py",
    "sim/accounts.py",
    "sim/flow.py",
    "sim/faults.py",
    *[
        f"venues/{v}/{m}.py"
        for v in ("kalshi", "polymarket")
        for m in ("wire", "convert", "signing", "rest", "stream")
    ],
]
FORBIDDEN_MODULES = {
    "asyncio",
    "aiohttp",
    "httpx",
    "websockets",
    "sqlite3",
    "yfinance",
    "requests",
    "socket",
    "threading",
}
FORBIDDEN_CALLS = {
    ("time", "time"),
    ("time", "time_ns"),
    ("time", "monotonic"),
    ("time", "perf_counter"),
    ("time", "sleep"),
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    ("os", "getenv"),
    ("random", "random"),
    ("random", "randint"),
    ("random", "choice"),
    ("random", "uniform"),
    ("random", "gauss"),
    ("random", "shuffle"),
    ("random", "seed"),
}


def _pure_files() -> list[Path]:
    files = [p for d in PURE_DIRS for p in (SRC / d).rglob("*.py")]
    files += [SRC / f for f in PURE_FILES if (SRC / f).exists()]
    return sorted(set(files))


@pytest.mark.parametrize("path", _pure_files(), ids=lambda p: str(p.relative_to(SRC)))
def test_pure_module(path: Path) -> None:
    tree = ast.parse(path.read_text(), filename=str(path))
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] in FORBIDDEN_MODULES:
                    problems.append(f"imports {a.name}")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.split(".")[0] in FORBIDDEN_MODULES:
                problems.append(f"imports from {node.module}")
        elif isinstance(node, ast.Attribute):
            if isinstance(node.value, ast.Name) and (node.value.id, node.attr) in FORBIDDEN_CALLS:
                problems.append(f"uses {node.value.id}.{node.attr}")
            if (
                isinstance(node.value, ast.Name)
                and node.value.id == "os"
                and node.attr == "environ"
            ):
                problems.append("reads os.environ")
    assert not problems, f"{path.relative_to(SRC)}: {problems}"


def test_no_venue_names_in_venue_neutral_layers() -> None:
    for d in ("strategy", "risk"):
        for p in (SRC / d).rglob("*.py"):
            text = p.read_text().lower()
            assert "kalshi" not in text and "polymarket" not in text, p


def test_no_venue_identifiers_in_core() -> None:
    """DESIGN rule 3: core/ names no venue (docstrings may cite where a rule comes from)."""
    for p in (SRC / "core").rglob("*.py"):
        tree = ast.parse(p.read_text())
        names = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name)]
        names += [n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        names += [a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names]
        bad = [n for n in names if "kalshi" in n.lower() or "polymarket" in n.lower()]
        assert not bad, f"{p.relative_to(SRC)}: {bad}"

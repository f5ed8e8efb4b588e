from __future__ import annotations

from typing import Any

from .report import TOTALS


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not (TOTALS.scenarios or TOTALS.fuzz_cases):
        return
    terminalreporter.section("chaos report")
    for line in TOTALS.lines():
        terminalreporter.write_line(line)

"""The suite's running totals: scenarios run, faults injected, invariant checks, violations.

The chaos conftest prints them at the end of the pytest session (`make test`, `make soak`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

__all__ = ["TOTALS", "Totals"]


@dataclass
class Totals:
    scenarios: list[str] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    checks: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)
    fuzz_cases: Counter[str] = field(default_factory=Counter)

    def lines(self) -> list[str]:
        out = [
            f"scenarios run: {len(self.scenarios)} ({', '.join(self.scenarios)})",
            f"faults injected: {sum(self.faults.values())} "
            + " ".join(f"{k}={v}" for k, v in sorted(self.faults.items())),
            f"invariant checks: {sum(self.checks.values())} "
            + " ".join(f"{k}={v}" for k, v in sorted(self.checks.items())),
            f"violations: {len(self.violations)}",
        ]
        out += [f"  VIOLATION {v}" for v in self.violations[:50]]
        if self.fuzz_cases:
            out.append(
                f"fuzz cases: {sum(self.fuzz_cases.values())} "
                + " ".join(f"{k}={v}" for k, v in sorted(self.fuzz_cases.items()))
            )
        return out


TOTALS = Totals()

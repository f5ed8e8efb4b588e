"""The strategy interface and the engine that puts every strategy behind the risk gate.

A strategy only proposes; `QuoteEngine.step` is the one way to get desired quotes, and it
always returns the gate's output, so no strategy can bypass the risk layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from pmbot.risk.gate import GateDecision, RiskGate
from pmbot.strategy.inputs import DesiredQuote, Proposal, QuoteInputs

__all__ = ["QuoteDecision", "QuoteEngine", "Strategy"]


class Strategy(Protocol):
    name: str

    def propose(self, inp: QuoteInputs) -> Proposal:
        """Raw desired quotes for the event in `inp` (the gate trims them)."""
        ...


@dataclass(frozen=True, slots=True)
class QuoteDecision:
    """Desired quotes after the gate, the gate's report, and when to wake the strategy."""

    quotes: tuple[DesiredQuote, ...]
    risk: GateDecision
    wake_at_ns: int | None = None
    notes: Mapping[str, str] = field(default_factory=dict)


class QuoteEngine:
    """One event's strategy and risk gate, stepped on every relevant state change."""

    def __init__(self, strategy: Strategy, gate: RiskGate) -> None:
        self.strategy = strategy
        self.gate = gate

    def step(self, inp: QuoteInputs) -> QuoteDecision:
        prop = self.strategy.propose(inp)
        risk = self.gate.apply(inp, prop.quotes)
        return QuoteDecision(risk.quotes, risk, prop.wake_at_ns, prop.notes)

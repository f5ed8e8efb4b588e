"""What the runner asks of a strategy, and how desired quotes become order actions.

The runner hands a `QuoteView` (the same fields as `pmbot.strategy.inputs.QuoteInputs`) to a
`Quoter` and gets desired quotes back. `StrategyQuoter` adapts the live bot's own
`strategy.engine.QuoteEngine` (strategy + risk gate), so a backtest runs the same code as
`pmbot run`; `ScriptedQuoter` plays fixed quotes for hand-built scenarios.

`plan` turns desired quotes plus our live orders into actions with the fewest calls: keep,
decrease in place (keeps queue priority), cancel, place. It defers to
`pmbot.execution.planner` when that module is present.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pmbot.core.book import BinaryBook
from pmbot.core.fairvalue import EventFairValue
from pmbot.core.market import MarketSpec
from pmbot.core.money import Micros, Price, Qty

__all__ = [
    "Action",
    "LiveQuote",
    "Quote",
    "QuoteView",
    "Quoter",
    "ScriptedQuoter",
    "StrategyQuoter",
    "plan",
    "strategy_quoter",
]


@dataclass(frozen=True, slots=True)
class Quote:
    ticker: str
    side: str  # "bid" buys YES, "ask" sells YES
    price: Price
    qty: Qty
    post_only: bool = True


@dataclass(frozen=True, slots=True)
class LiveQuote:
    """One of our orders as the runner's order manager believes it (in flight counts)."""

    order_id: str
    side: str
    price: Price
    remaining: Qty
    placed_ts_ns: int


@dataclass(frozen=True, slots=True)
class QuoteView:
    ts_ns: int
    event_ticker: str
    markets: tuple[MarketSpec, ...]
    fair: EventFairValue | None
    books: Mapping[str, BinaryBook | None]
    positions: Mapping[str, Qty]
    resting: Mapping[str, tuple[LiveQuote, ...]]
    index_ts_ns: int | None
    reference_ts_ns: int
    event_cost: Micros = 0
    daily_pnl: Micros = 0


class Quoter(Protocol):
    name: str

    def quote(self, view: QuoteView) -> tuple[Sequence[Quote], int | None]:
        """Desired quotes for the event and an optional wake-up time (ns)."""
        ...


@dataclass(frozen=True, slots=True)
class Action:
    kind: str  # "place" | "cancel" | "decrease"
    ticker: str
    side: str = ""
    price: Price = 0
    qty: Qty = 0  # place: size; decrease: new remaining
    order_id: str = ""
    post_only: bool = True


def plan(desired: Sequence[Quote], live: Mapping[str, tuple[LiveQuote, ...]]) -> list[Action]:
    """Fewest actions turning live orders into desired ones, per (ticker, side, price).

    At a price we already rest at: keep, decrease in place, or add the missing size as a
    second order (increasing an order would lose its priority). Elsewhere: cancel, place.
    Cancels come first so a replacement never self-crosses.
    """
    want: dict[tuple[str, str, Price], Quote] = {}
    for q in desired:
        k = (q.ticker, q.side, q.price)
        prev = want.get(k)
        want[k] = (
            q if prev is None else Quote(q.ticker, q.side, q.price, prev.qty + q.qty, q.post_only)
        )
    cancels: list[Action] = []
    rest: list[Action] = []
    for ticker in sorted(live):
        have: dict[tuple[str, Price], list[LiveQuote]] = {}
        for o in live[ticker]:
            have.setdefault((o.side, o.price), []).append(o)
        for (side, price), orders in sorted(have.items()):
            q = want.pop((ticker, side, price), None)
            target = q.qty if q is not None else 0
            for o in orders:  # oldest first keeps the best queue place
                if target <= 0:
                    cancels.append(Action("cancel", ticker, side, price, 0, o.order_id))
                elif o.remaining > target:
                    rest.append(Action("decrease", ticker, side, price, target, o.order_id))
                    target = 0
                else:
                    target -= o.remaining
            if target > 0 and q is not None:
                rest.append(Action("place", ticker, side, price, target, "", q.post_only))
    for (ticker, side, price), q in sorted(want.items()):
        if q.qty > 0:
            rest.append(Action("place", ticker, side, price, q.qty, "", q.post_only))
    return cancels + rest


class ScriptedQuoter:
    """Fixed quotes from a function of time (hand-built scenarios and tests)."""

    def __init__(self, fn: Callable[[QuoteView], Sequence[Quote]], name: str = "scripted") -> None:
        self.fn = fn
        self.name = name

    def quote(self, view: QuoteView) -> tuple[Sequence[Quote], int | None]:
        return self.fn(view), None


@dataclass
class StrategyQuoter:
    """The live bot's QuoteEngine (a strategy behind the risk gate), one per event."""

    name: str
    make_engine: Callable[[], Any]
    engines: dict[str, Any] = field(default_factory=dict)

    def quote(self, view: QuoteView) -> tuple[Sequence[Quote], int | None]:
        from pmbot.strategy.inputs import QuoteInputs, RestingOrder

        eng = self.engines.get(view.event_ticker)
        if eng is None:
            eng = self.engines[view.event_ticker] = self.make_engine()
        resting = {
            t: tuple(
                RestingOrder(o.side, o.price, o.remaining, o.placed_ts_ns, o.order_id) for o in v
            )  # type: ignore[arg-type]
            for t, v in view.resting.items()
        }
        inp = QuoteInputs(
            ts_ns=view.ts_ns, event_ticker=view.event_ticker, markets=view.markets, fair=view.fair,
            books=view.books, positions=view.positions, resting=resting,
            book_ts_ns=dict.fromkeys(view.books, view.ts_ns), index_ts_ns=view.index_ts_ns,
            reference_ts_ns=view.reference_ts_ns, event_cost=view.event_cost, daily_pnl=view.daily_pnl,
        )  # fmt: skip
        d = eng.step(inp)
        out = [Quote(q.ticker, q.side, q.price, q.qty, q.post_only) for q in d.quotes]
        return out, d.wake_at_ns


def strategy_quoter(kind: str, params: Mapping[str, Any] | None = None,
                    limits: Mapping[str, Any] | None = None) -> StrategyQuoter:  # fmt: skip
    """`kind` "pmbot" (MarketMaker) or "baseline", with QuoteParams / RiskLimits overrides."""
    try:
        from pmbot.risk.gate import RiskGate
        from pmbot.risk.limits import RiskLimits
        from pmbot.strategy.baseline import BaselineStrategy
        from pmbot.strategy.engine import QuoteEngine
        from pmbot.strategy.params import QuoteParams
        from pmbot.strategy.quoter import MarketMaker
    except ImportError as e:  # the strategy branch has not landed in this checkout
        from pmbot.errors import ConfigError

        raise ConfigError(
            "backtest.strategies", f"the strategy package is not available: {e}"
        ) from e
    qp = QuoteParams(**dict(params or {}))
    rl = RiskLimits(**dict(limits or {}))

    def make() -> Any:
        strat: Any = MarketMaker(qp, rl) if kind == "pmbot" else BaselineStrategy(qp)
        return QuoteEngine(strat, RiskGate(rl))

    if kind not in ("pmbot", "baseline"):
        from pmbot.errors import ConfigError

        raise ConfigError("backtest.strategies", f"unknown strategy {kind!r} (pmbot, baseline)")
    return StrategyQuoter(kind, make)

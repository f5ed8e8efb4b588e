"""Guards: conditions under which quoting must shrink (REDUCING) or stop (HALTED).

Each guard looks at one `QuoteInputs` snapshot and returns findings; none latches, so a
guard clears as soon as its cause does (the kill switch is the latched one). A threshold
of None disables its guard.

Event scope (the whole ladder): exchange trading paused, index feed stale, no fair value,
a position in a market the snapshot does not list (its risk would be invisible),
time to the reference time below the pull threshold (HALTED) or the reduce threshold
(REDUCING), daily loss near its limit, event worst-case loss / cost or account exposure at
their limits (REDUCING). Market scope: market not open, no book, book resyncing, stale or crossed (HALTED),
no fair value for the market (HALTED), fair value far from the market mid (REDUCING:
model divergence; only quotes that shrink the position stay), position at its cap.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from dataclasses import dataclass
from enum import IntEnum

from pmbot.core.money import Micros
from pmbot.errors import ConfigError
from pmbot.risk.limits import RiskLimits
from pmbot.strategy.inputs import QuoteInputs

__all__ = [
    "Finding",
    "GuardParams",
    "RiskState",
    "event_findings",
    "market_states",
    "worst_of",
]


class RiskState(IntEnum):
    """Ordered by severity: the worst finding of a scope decides its state."""

    ACTIVE = 0
    REDUCING = 1
    HALTED = 2


@dataclass(frozen=True, slots=True)
class GuardParams:
    index_stale_ns: int | None = 10_000_000_000  # no index tick for 10 s: halt the event
    book_stale_ns: int | None = 30_000_000_000  # book not confirmed current for 30 s
    max_divergence: float | None = 0.15  # |fair - mid| in probability: reduce that market
    reduce_before_reference_ns: int | None = 300_000_000_000  # last 5 min: reduce only
    pull_before_reference_ns: int | None = 5_000_000_000  # last 5 s: pull everything
    daily_loss_reduce_fraction: float | None = 0.8  # reduce once 80% of the daily limit is lost

    def __post_init__(self) -> None:
        for name in (
            "index_stale_ns",
            "book_stale_ns",
            "reduce_before_reference_ns",
            "pull_before_reference_ns",
        ):
            v = getattr(self, name)
            if v is not None and v < 0:
                raise ConfigError(f"guards.{name}", "must be >= 0 or None")
        if self.max_divergence is not None and not 0.0 < self.max_divergence <= 1.0:
            raise ConfigError("guards.max_divergence", "must be in (0, 1] or None")
        f = self.daily_loss_reduce_fraction
        if f is not None and not 0.0 < f <= 1.0:
            raise ConfigError("guards.daily_loss_reduce_fraction", "must be in (0, 1] or None")


@dataclass(frozen=True, slots=True)
class Finding:
    scope: str  # the event ticker or a market ticker
    state: RiskState
    reason: str


def event_findings(
    inp: QuoteInputs,
    g: GuardParams,
    limits: RiskLimits,
    event_loss: Micros | None,
    listed: Container[str] | None = None,
) -> list[Finding]:
    """Event-wide guards; `event_loss` is the current worst-case loss (None if unknown).

    `listed`: the tickers of `inp.markets` when the caller already holds them as a set or
    a dict (None: collected here).
    """
    ev, now = inp.event_ticker, inp.ts_ns
    out: list[Finding] = []

    def add(state: RiskState, reason: str) -> None:
        out.append(Finding(ev, state, reason))

    if not inp.trading_active:
        add(RiskState.HALTED, "trading_paused")
    if g.index_stale_ns is not None and (
        inp.index_ts_ns is None or now - inp.index_ts_ns > g.index_stale_ns
    ):
        add(RiskState.HALTED, "index_stale")
    if inp.fair is None:
        add(RiskState.HALTED, "no_fair_value")
    if inp.positions:
        if listed is None:
            listed = {m.ticker for m in inp.markets}
        for t, q in inp.positions.items():
            if q and t not in listed:
                add(RiskState.HALTED, "position_in_unlisted_market")
                break
    left = inp.reference_ts_ns - now
    if g.pull_before_reference_ns is not None and left <= g.pull_before_reference_ns:
        add(RiskState.HALTED, "near_reference")
    elif g.reduce_before_reference_ns is not None and left <= g.reduce_before_reference_ns:
        add(RiskState.REDUCING, "reference_approaching")
    f = g.daily_loss_reduce_fraction
    if f is not None and -inp.daily_pnl >= f * limits.max_daily_loss:
        add(RiskState.REDUCING, "daily_loss_near_limit")
    if event_loss is not None and event_loss >= limits.max_event_loss:
        add(RiskState.REDUCING, "event_loss_limit")
    if inp.event_capital >= limits.max_event_cost:
        add(RiskState.REDUCING, "event_cost_limit")
    if inp.account_exposure >= limits.max_account_exposure:
        add(RiskState.REDUCING, "account_exposure_limit")
    return out


_NO_BOOK = (RiskState.HALTED, "no_book")
_INACTIVE = (RiskState.HALTED, "market_inactive")
_RESYNCING = (RiskState.HALTED, "book_resyncing")
_STALE = (RiskState.HALTED, "book_stale")
_CROSSED = (RiskState.HALTED, "book_crossed")
_NO_FAIR = (RiskState.HALTED, "no_fair_value")
_DIVERGED = (RiskState.REDUCING, "fair_divergence")
_AT_CAP = (RiskState.REDUCING, "position_limit")


def market_states(
    inp: QuoteInputs, g: GuardParams, limits: RiskLimits, tickers: Sequence[str] | None = None
) -> dict[str, tuple[RiskState, str]]:
    """Per-market guards: {ticker: (worst state, its reasons joined by ",")} for the markets
    with at least one finding, in market order (the others are ACTIVE).

    `tickers`: those of `inp.markets` when the caller already holds them (None: read here).
    A market with one finding gets the same tuple object every time (cheap to compare).
    """
    fair = inp.fair
    fv = None if fair is None else fair.fair
    inactive, books, resyncing = inp.inactive, inp.books, inp.resyncing
    book_ts, positions = inp.book_ts_ns, inp.positions
    stale, max_div, max_pos = g.book_stale_ns, g.max_divergence, limits.max_position
    # `now - book_ts > stale`, in integer ns, is `book_ts < oldest`
    oldest = None if stale is None else inp.ts_ns - stale
    # a missing ticker is flat and max_position > 0, so only held markets can be at the cap
    at_cap = {t for t, q in positions.items() if abs(q) >= max_pos} if positions else None
    out: dict[str, tuple[RiskState, str]] = {}
    if tickers is None:
        tickers = [m.ticker for m in inp.markets]
    for t in tickers:
        fs: list[tuple[RiskState, str]] = []
        if inactive and t in inactive:
            fs.append(_INACTIVE)
        book = books.get(t)
        if book is None:
            fs.append(_NO_BOOK)
        else:
            if resyncing and t in resyncing:
                fs.append(_RESYNCING)
            if oldest is not None:
                bts = book_ts.get(t)
                if bts is None or bts < oldest:
                    fs.append(_STALE)
            if book.crossed():
                fs.append(_CROSSED)
        if fv is not None:
            p = fv.get(t)
            if p is None:
                fs.append(_NO_FAIR)
            elif book is not None and max_div is not None:
                mid = book.mid()
                if mid is not None and abs(p - mid) > max_div:
                    fs.append(_DIVERGED)
        if at_cap and t in at_cap:
            fs.append(_AT_CAP)
        if fs:
            out[t] = fs[0] if len(fs) == 1 else worst_of(fs)
    return out


def worst_of(fs: Sequence[tuple[RiskState, str]]) -> tuple[RiskState, str]:
    """The worst state of these (state, reason) findings and its reasons, in order."""
    if not fs:
        return RiskState.ACTIVE, ""
    s = max(f[0] for f in fs)
    return s, ",".join(r for st, r in fs if st == s)

"""The market-data tape a backtest replays: index prints, book changes and public trades.

A tape is columnar (one numpy array per field, one row per event) so a whole day loads with
one read and the runner iterates plain Python lists without per-row objects:

* `ts`    int64  event time, unix ns (exchange time of the print)
* `kind`  int8   INDEX, CLEAR, DELTA, TRADE (see below)
* `mkt`   int32  index into `markets` (-1 for INDEX)
* `side`  int8   DELTA: 1 YES-bid leg, 0 NO-bid leg; TRADE: 1 taker bought YES, 0 taker sold YES
* `price` int32  DELTA: leg price (YES price on the YES leg, NO price on the NO leg);
                 TRADE: YES price; Price units (1e-4 $)
* `qty`   int64  DELTA: signed size change (Qty); TRADE: count (Qty);
                 INDEX: level in 1e-4 index points

A book snapshot is a CLEAR row followed by one positive DELTA per level. Rows are ordered by
(ts, kind) with INDEX < CLEAR < TRADE < DELTA at equal times, so a trade is always seen
before the book delta that removes its maker size: the queue model in `matching` relies on
it. Settlement values (the event's reference value) ride along in `settlements`; when absent
the runner uses the last index print at or before each market's close.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from pmbot.core.market import MarketSpec

__all__ = [
    "CLEAR",
    "DELTA",
    "INDEX",
    "KIND_ORDER",
    "TRADE",
    "Tape",
    "TapeBuilder",
    "concat",
    "replace_index",
    "rows_to_tape",
]

INDEX, CLEAR, TRADE, DELTA = 0, 1, 2, 3
KIND_ORDER = (INDEX, CLEAR, TRADE, DELTA)  # tie-break at equal ts: the kind value itself

I64 = npt.NDArray[np.int64]


@dataclass(slots=True)
class Tape:
    """One replayable stream: columns, the markets they refer to, and known settlements."""

    ts: I64
    kind: npt.NDArray[np.int8]
    mkt: npt.NDArray[np.int32]
    side: npt.NDArray[np.int8]
    price: npt.NDArray[np.int32]
    qty: I64
    markets: tuple[MarketSpec, ...]
    settlements: dict[str, float] = field(default_factory=dict)  # event_ticker -> value
    source: str = ""

    def __len__(self) -> int:
        return len(self.ts)

    def market_index(self) -> dict[str, int]:
        return {m.ticker: i for i, m in enumerate(self.markets)}

    def events(self) -> dict[str, list[int]]:
        """event_ticker -> market indices, in tape order."""
        out: dict[str, list[int]] = {}
        for i, m in enumerate(self.markets):
            out.setdefault(m.event_ticker, []).append(i)
        return out

    def counts(self) -> dict[str, int]:
        names = {INDEX: "index", CLEAR: "clear", TRADE: "trade", DELTA: "delta"}
        k, n = np.unique(self.kind, return_counts=True)
        return {names[int(a)]: int(b) for a, b in zip(k, n, strict=True)}

    def index_level_at(self, ts_ns: int) -> float | None:
        """Last index print at or before ts_ns, in index points."""
        sel = np.flatnonzero(self.kind == INDEX)
        if not len(sel):
            return None
        t = self.ts[sel]
        i = int(np.searchsorted(t, ts_ns, side="right")) - 1
        return None if i < 0 else float(self.qty[sel[i]]) / 10_000

    def slice_time(self, start_ns: int, end_ns: int) -> Tape:
        lo = int(np.searchsorted(self.ts, start_ns, side="left"))
        hi = int(np.searchsorted(self.ts, end_ns, side="right"))
        s = slice(lo, hi)
        return Tape(self.ts[s], self.kind[s], self.mkt[s], self.side[s], self.price[s],
                    self.qty[s], self.markets, dict(self.settlements), self.source)  # fmt: skip

    @staticmethod
    def from_columns(
        ts: npt.ArrayLike,
        kind: npt.ArrayLike,
        mkt: npt.ArrayLike,
        side: npt.ArrayLike,
        price: npt.ArrayLike,
        qty: npt.ArrayLike,
        markets: Sequence[MarketSpec],
        settlements: dict[str, float] | None = None,
        source: str = "",
        *,
        presorted: bool = False,
    ) -> Tape:
        """Build a tape, ordering rows stably by (ts, kind)."""
        a_ts = np.asarray(ts, dtype=np.int64)
        a_kind = np.asarray(kind, dtype=np.int8)
        cols = (
            np.asarray(mkt, dtype=np.int32),
            np.asarray(side, dtype=np.int8),
            np.asarray(price, dtype=np.int32),
            np.asarray(qty, dtype=np.int64),
        )
        if not presorted and len(a_ts):
            order = np.lexsort((a_kind, a_ts))  # stable: equal keys keep arrival order
            a_ts, a_kind = a_ts[order], a_kind[order]
            cols = tuple(c[order] for c in cols)  # type: ignore[assignment]
        return Tape(a_ts, a_kind, *cols, markets=tuple(markets),
                    settlements=dict(settlements or {}), source=source)  # fmt: skip


class TapeBuilder:
    """Accumulates rows in arrival order (hand-built scenarios, converters, generators)."""

    def __init__(self, markets: Sequence[MarketSpec] = ()) -> None:
        self.markets: list[MarketSpec] = list(markets)
        self._idx = {m.ticker: i for i, m in enumerate(self.markets)}
        self.rows: list[tuple[int, int, int, int, int, int]] = []
        self.settlements: dict[str, float] = {}

    def market(self, spec: MarketSpec) -> int:
        i = self._idx.get(spec.ticker)
        if i is None:
            i = self._idx[spec.ticker] = len(self.markets)
            self.markets.append(spec)
        return i

    def mi(self, ticker: str) -> int:
        return self._idx[ticker]

    def index(self, ts_ns: int, level: float) -> None:
        self.rows.append((ts_ns, INDEX, -1, 0, 0, round(level * 10_000)))

    def snapshot(
        self, ts_ns: int, ticker: str, yes: Sequence[tuple[int, int]], no: Sequence[tuple[int, int]]
    ) -> None:
        """Bid ladders (NO levels at NO-leg prices) replacing the market's book."""
        m = self._idx[ticker]
        self.rows.append((ts_ns, CLEAR, m, 0, 0, 0))
        for p, q in yes:
            if q:
                self.rows.append((ts_ns, DELTA, m, 1, p, q))
        for p, q in no:
            if q:
                self.rows.append((ts_ns, DELTA, m, 0, p, q))

    def delta(self, ts_ns: int, ticker: str, is_yes: bool, price: int, delta: int) -> None:
        self.rows.append((ts_ns, DELTA, self._idx[ticker], int(is_yes), price, delta))

    def trade(
        self, ts_ns: int, ticker: str, yes_price: int, count: int, taker_buys_yes: bool
    ) -> None:
        self.rows.append((ts_ns, TRADE, self._idx[ticker], int(taker_buys_yes), yes_price, count))

    def settle(self, event_ticker: str, value: float) -> None:
        self.settlements[event_ticker] = value

    def build(self, source: str = "") -> Tape:
        return rows_to_tape(self.rows, self.markets, self.settlements, source)


def rows_to_tape(rows: Sequence[tuple[int, int, int, int, int, int]], markets: Sequence[MarketSpec],
                 settlements: dict[str, float] | None = None, source: str = "") -> Tape:  # fmt: skip
    """Rows of (ts, kind, mkt, side, price, qty) in arrival order -> a sorted tape."""
    a = np.array(rows, dtype=np.int64).reshape(len(rows), 6)
    return Tape.from_columns(a[:, 0], a[:, 1], a[:, 2], a[:, 3], a[:, 4], a[:, 5], markets,
                             settlements, source)  # fmt: skip


def replace_index(tape: Tape, csv_path: str) -> Tape:
    """Swap the tape's index prints for a CSV replay (`ts_ms,level` rows, header optional)."""
    import csv

    ts: list[int] = []
    lv: list[int] = []
    with open(csv_path, newline="") as f:
        for row in csv.reader(f):
            if not row or not row[0].strip().lstrip("-").isdigit():
                continue
            ts.append(int(row[0]) * 1_000_000)
            lv.append(round(float(row[1]) * 10_000))
    keep = tape.kind != INDEX
    n = len(ts)
    return Tape.from_columns(
        np.concatenate([tape.ts[keep], np.asarray(ts, dtype=np.int64)]),
        np.concatenate([tape.kind[keep], np.full(n, INDEX, dtype=np.int8)]),
        np.concatenate([tape.mkt[keep], np.full(n, -1, dtype=np.int32)]),
        np.concatenate([tape.side[keep], np.zeros(n, dtype=np.int8)]),
        np.concatenate([tape.price[keep], np.zeros(n, dtype=np.int32)]),
        np.concatenate([tape.qty[keep], np.asarray(lv, dtype=np.int64)]),
        tape.markets,
        tape.settlements,
        tape.source + f" index={csv_path}",
    )


def concat(*tapes: Tape) -> Tape:
    """One tape from several (e.g. consecutive days): markets merged by ticker, rows re-sorted."""
    markets: list[MarketSpec] = []
    idx: dict[str, int] = {}
    parts = []
    settlements: dict[str, float] = {}
    for t in tapes:
        remap = np.empty(len(t.markets) + 1, dtype=np.int32)
        remap[-1] = -1  # index rows keep mkt = -1
        for i, m in enumerate(t.markets):
            if m.ticker not in idx:
                idx[m.ticker] = len(markets)
                markets.append(m)
            remap[i] = idx[m.ticker]
        parts.append((t, remap[t.mkt]))
        settlements.update(t.settlements)
    return Tape.from_columns(
        np.concatenate([t.ts for t, _ in parts]), np.concatenate([t.kind for t, _ in parts]),
        np.concatenate([m for _, m in parts]), np.concatenate([t.side for t, _ in parts]),
        np.concatenate([t.price for t, _ in parts]), np.concatenate([t.qty for t, _ in parts]),
        markets, settlements, " + ".join(t.source for t in tapes),
    )  # fmt: skip

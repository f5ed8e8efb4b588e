"""Record the live index feed and venue book/trade stream for replay, and read it back.

Format (a directory, append-only so a crash loses at most the unflushed tail):

* `events.bin`: fixed 32-byte little-endian records (`RECORD_DTYPE`): ts i8, qty i8,
  price i4, mkt i4, kind i1, side i1, 6 pad bytes. The columns are the `Tape` columns, so
  reading is one `np.fromfile` and a stable sort; a torn last record is dropped.
* `meta.jsonl`: one JSON object per line: `{"market": {...MarketSpec...}, "i": n}` when a
  market is first seen (its row index `n`), `{"settle": event_ticker, "value": v}` when a
  settlement is known, `{"source": ...}` once at the start.

A day of 30 books at a few events per second is ~100 MB raw; `save_npz` packs a tape into
one compressed `.npz` (about 5-10x smaller) and `load_tape` reads either form.

The live bot calls `Recorder.record(event)` with each typed domain event it already
produces (`IndexTick`, `BookSnapshot`, `BookDelta`) plus `Recorder.trade(...)` for public
trades (the core has no domain event for other people's trades yet; any event object with
`ticker, ts_ns, price (YES), count, taker_buys_yes` is recorded as one), and `close()` at exit.
Register each market first with `Recorder.market(spec)`; rows for unknown tickers are
skipped. Kalshi's trade frame maps as `taker_buys_yes = taker_outcome_side == "yes"`.

A backtest replays the market *without* us, so `exclude_own` (default) drops book deltas
that carry a `client_order_id` (Kalshi tags the deltas our own orders cause). A snapshot
still contains our resting size: pass `own_yes`/`own_no` (price -> size of our resting bids
per leg, from the order manager) to `snapshot` to subtract it. Prints where we were the
taker should not be recorded (a post-only bot has none).
"""

from __future__ import annotations

import json
import os
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from pmbot.backtest.tape import CLEAR, DELTA, INDEX, TRADE, Tape
from pmbot.core import events as ev
from pmbot.core.market import FeeSchedule, FeeType, MarketSpec, StrikeType
from pmbot.core.money import PriceGrid, PriceRange

__all__ = [
    "RECORD_DTYPE",
    "Recorder",
    "load_tape",
    "save_npz",
    "spec_from_json",
    "spec_to_json",
]

RECORD_DTYPE = np.dtype(
    [
        ("ts", "<i8"),
        ("qty", "<i8"),
        ("price", "<i4"),
        ("mkt", "<i4"),
        ("kind", "i1"),
        ("side", "i1"),
        ("pad", "V6"),
    ]
)
assert RECORD_DTYPE.itemsize == 32


def spec_to_json(m: MarketSpec) -> dict[str, Any]:
    return {
        "ticker": m.ticker, "event_ticker": m.event_ticker, "series_ticker": m.series_ticker,
        "strike_type": m.strike_type.value, "floor_strike": m.floor_strike,
        "cap_strike": m.cap_strike, "grid": [[r.start, r.end, r.step] for r in m.grid.ranges],
        "fee_type": m.fees.fee_type.value, "fee_multiplier": str(m.fees.multiplier),
        "close_ts_ns": m.close_ts_ns, "title": m.title,
    }  # fmt: skip


def spec_from_json(d: dict[str, Any]) -> MarketSpec:
    return MarketSpec(
        ticker=str(d["ticker"]), event_ticker=str(d["event_ticker"]),
        series_ticker=str(d["series_ticker"]), strike_type=StrikeType(d["strike_type"]),
        floor_strike=None if d["floor_strike"] is None else float(d["floor_strike"]),
        cap_strike=None if d["cap_strike"] is None else float(d["cap_strike"]),
        grid=PriceGrid([PriceRange(int(a), int(b), int(c)) for a, b, c in d["grid"]]),
        fees=FeeSchedule(FeeType(d["fee_type"]), Fraction(d["fee_multiplier"])),
        close_ts_ns=int(d["close_ts_ns"]), title=str(d.get("title", "")),
    )  # fmt: skip


class Recorder:
    """Append-only writer of one recording directory; buffer `flush_every` rows per write."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        source: str = "",
        flush_every: int = 4096,
        *,
        exclude_own: bool = True,
    ) -> None:
        self.path = Path(path)
        self.path.mkdir(parents=True, exist_ok=True)
        _repair_tails(self.path)  # resuming after a crash: appends must start on a boundary
        self._bin = open(self.path / "events.bin", "ab")  # noqa: SIM115 - closed in close()
        self._meta = open(self.path / "meta.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        self._idx: dict[str, int] = {}
        for line in _read_meta(self.path):  # resume an existing recording
            if "market" in line:
                self._idx[line["market"]["ticker"]] = int(line["i"])
        if source and not self._idx:
            self._write_meta({"source": source})
        self._buf = np.zeros(flush_every, dtype=RECORD_DTYPE)
        self._n = 0
        self.rows = 0
        self.exclude_own = exclude_own
        self.skipped_own = 0

    # ---- registration -------------------------------------------------------------------
    def market(self, spec: MarketSpec) -> int:
        """Register a market (idempotent); rows for unknown tickers are refused."""
        i = self._idx.get(spec.ticker)
        if i is None:
            i = self._idx[spec.ticker] = len(self._idx)
            self._write_meta({"market": spec_to_json(spec), "i": i})
        return i

    def settle(self, event_ticker: str, value: float) -> None:
        self._write_meta({"settle": event_ticker, "value": value})

    # ---- rows ---------------------------------------------------------------------------
    def index(self, ts_ns: int, level: float) -> None:
        self._row(ts_ns, INDEX, -1, 0, 0, round(level * 10_000))

    def snapshot(self, ts_ns: int, ticker: str, yes: Any, no: Any,
                 own_yes: Any = None, own_no: Any = None) -> None:  # fmt: skip
        """Bid ladders replace the book; NO levels at NO-leg prices; minus our own size."""
        m = self._idx[ticker]
        self._row(ts_ns, CLEAR, m, 0, 0, 0)
        for leg, levels, own in ((1, yes, own_yes or {}), (0, no, own_no or {})):
            for p, q in levels:
                q -= own.get(p, 0)
                if q > 0:
                    self._row(ts_ns, DELTA, m, leg, p, q)

    def delta(self, ts_ns: int, ticker: str, is_yes: bool, price: int, delta: int) -> None:
        self._row(ts_ns, DELTA, self._idx[ticker], int(is_yes), price, delta)

    def trade(
        self, ts_ns: int, ticker: str, yes_price: int, count: int, taker_buys_yes: bool
    ) -> None:
        """A public trade: YES price, count (Qty), and whether the taker bought YES."""
        self._row(ts_ns, TRADE, self._idx[ticker], int(taker_buys_yes), yes_price, count)

    def record(self, e: object) -> None:
        """Record a typed domain event the live bot already produced (others are ignored)."""
        if isinstance(e, ev.IndexTick):
            self.index(e.ts_ns, e.level)
        elif isinstance(e, ev.BookDelta):
            if self.exclude_own and e.client_order_id is not None:
                self.skipped_own += 1  # our own order moved the book: a backtest adds its own
            elif e.ticker in self._idx:
                self.delta(e.ts_ns, e.ticker, e.is_yes, e.price, e.delta)
        elif isinstance(e, ev.BookSnapshot):
            if e.ticker in self._idx:
                self.snapshot(e.ts_ns, e.ticker, e.yes, e.no)
        elif hasattr(e, "taker_buys_yes"):  # a public-trade event (ticker, ts_ns, price, count)
            t = getattr(e, "ticker", None)
            if t in self._idx:
                self.trade(e.ts_ns, t, e.price, e.count, bool(e.taker_buys_yes))  # type: ignore[attr-defined]

    def _row(self, ts: int, kind: int, mkt: int, side: int, price: int, qty: int) -> None:
        r = self._buf[self._n]
        r["ts"], r["qty"], r["price"], r["mkt"], r["kind"], r["side"] = (
            ts,
            qty,
            price,
            mkt,
            kind,
            side,
        )
        self._n += 1
        self.rows += 1
        if self._n == len(self._buf):
            self.flush()

    def _write_meta(self, obj: dict[str, Any]) -> None:
        self._meta.write(json.dumps(obj, sort_keys=True) + "\n")
        self._meta.flush()

    def flush(self) -> None:
        if self._n:
            self._bin.write(self._buf[: self._n].tobytes())
            self._n = 0
        self._bin.flush()

    def close(self) -> None:
        self.flush()
        self._bin.close()
        self._meta.close()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _repair_tails(path: Path) -> None:
    """Cut what a crash left half-written: a partial record at the end of `events.bin`
    (else every record appended after it would be read shifted) and a last `meta.jsonl`
    line without its newline (else the next line would be glued to it)."""
    b = path / "events.bin"
    if b.exists():
        size = b.stat().st_size
        if size % RECORD_DTYPE.itemsize:
            os.truncate(b, size - size % RECORD_DTYPE.itemsize)
    m = path / "meta.jsonl"
    if m.exists():
        data = m.read_bytes()
        if data and not data.endswith(b"\n"):
            os.truncate(m, data.rfind(b"\n") + 1)


def _read_meta(path: Path) -> list[dict[str, Any]]:
    p = path / "meta.jsonl"
    if not p.exists():
        return []
    out = []
    for line in p.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                break  # torn last line after a crash
    return out


def _load_dir(path: Path) -> Tape:
    meta = _read_meta(path)
    specs: dict[int, MarketSpec] = {}
    settlements: dict[str, float] = {}
    source = ""
    for line in meta:
        if "market" in line:
            specs[int(line["i"])] = spec_from_json(line["market"])
        elif "settle" in line:
            settlements[str(line["settle"])] = float(line["value"])
        elif "source" in line:
            source = str(line["source"])
    raw = (path / "events.bin").read_bytes() if (path / "events.bin").exists() else b""
    n = len(raw) // RECORD_DTYPE.itemsize
    rec = np.frombuffer(raw[: n * RECORD_DTYPE.itemsize], dtype=RECORD_DTYPE)
    markets = [specs[i] for i in range(len(specs))]
    return Tape.from_columns(rec["ts"], rec["kind"], rec["mkt"], rec["side"], rec["price"],
                             rec["qty"], markets, settlements, source)  # fmt: skip


def save_npz(tape: Tape, path: str | os.PathLike[str]) -> None:
    """Pack a tape into one compressed .npz (columns + JSON metadata)."""
    meta = {
        "markets": [spec_to_json(m) for m in tape.markets],
        "settlements": tape.settlements,
        "source": tape.source,
    }
    np.savez_compressed(
        path, ts=tape.ts, kind=tape.kind, mkt=tape.mkt, side=tape.side, price=tape.price,
        qty=tape.qty, meta=np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8),
    )  # fmt: skip


def load_tape(path: str | os.PathLike[str]) -> Tape:
    """Read a recording directory or a `.npz` produced by `save_npz`."""
    p = Path(path)
    if p.is_dir():
        return _load_dir(p)
    with np.load(p) as z:
        meta = json.loads(bytes(z["meta"]).decode())
        return Tape(
            z["ts"], z["kind"], z["mkt"], z["side"], z["price"], z["qty"],
            tuple(spec_from_json(d) for d in meta["markets"]),
            {k: float(v) for k, v in meta["settlements"].items()}, meta.get("source", ""),
        )  # fmt: skip

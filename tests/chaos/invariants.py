"""The invariants, judged from the simulator's own state, order log and journal and the ledger.

* no order of ours rests on the venue that the ledger does not know (at every probe);
* every venue fill is in the ledger exactly once; ledger positions equal the venue's;
* no create/amend reaches the venue while the index or a book is stale (the simulator's
  order log against the fault timeline), and resting quotes are gone within 1 s (simulated)
  of the index or the book going stale;
* after SIGTERM nothing of ours rests, and the shutdown reported a verified cancel-all.
"""

from __future__ import annotations

import sqlite3
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pmbot.store.ledger import logged_orders

from .report import TOTALS

__all__ = ["Probe", "Run", "StaleWindow", "check", "ledger_view"]

S = 1_000_000_000
# A send decided just before the data went stale may still be on the wire when it does.
IN_FLIGHT_NS = 200_000_000
PULL_NS = S


@dataclass
class StaleWindow:
    kind: str
    start_ns: int
    end_ns: int | None
    stale_ns: int | None = None  # when the bot's own limit made it stale


def ledger_view(path: Path) -> tuple[list[tuple[str, str]], dict[str, int], set[str]]:
    """(fills as (trade_id, order_id), positions, every order id and client order id known)."""
    # new orders are durable in the intent log first; their rows follow with the next
    # statement of the bot's ledger (after the request left): both are the ledger. The log
    # is read first: a row that leaves it afterwards is in the table read next
    logged = {str(r[0]) for r in logged_orders(path)}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        fills = [(r[0], r[1]) for r in db.execute("SELECT trade_id, order_id FROM fills")]
        pos = {r[0]: r[1] for r in db.execute("SELECT ticker, qty FROM positions") if r[1]}
        ids: set[str] = set()
        for oid, coid in db.execute("SELECT order_id, client_order_id FROM orders"):
            ids.update(x for x in (oid, coid) if x)
    finally:
        db.close()
    ids.update(logged)
    return fills, pos, ids


@dataclass
class Probe:
    label: str
    ts_ns: int
    resting: list[tuple[str, str, str]]  # (order_id, client_order_id, ticker)
    known: set[str]
    must_be_empty: bool = False
    book_drop_ns: int | None = None  # a book-staleness probe: 1 s after the sockets dropped

    @classmethod
    def take(
        cls, run: Run, label: str, *, must_be_empty: bool = False, book_drop_ns: int | None = None
    ) -> Probe:
        resting = [
            (o.order_id, o.client_order_id, o.ticker)
            for o in run.sim.exchange.engine.resting(run.user)
        ]
        known = ledger_view(run.ledger_path)[2] if run.ledger_path.exists() else set()
        return cls(label, run.sim.now_ns(), resting, known, must_be_empty, book_drop_ns)


@dataclass
class Run:
    name: str
    sim: Any
    user: str
    ledger_path: Path
    settings: Any
    t0_ns: int = 0
    probes: list[Probe] = field(default_factory=list)
    stalls: list[StaleWindow] = field(default_factory=list)
    clean_shutdown: bool = False
    summary: dict[str, Any] = field(default_factory=dict)
    om_stats: Any = None
    checks: Counter[str] = field(default_factory=Counter)
    violations: list[str] = field(default_factory=list)

    def expect(self, kind: str, ok: bool, what: str) -> None:
        self.checks[kind] += 1
        TOTALS.checks[kind] += 1
        if not ok:
            msg = f"{self.name}: {kind}: {what}"
            self.violations.append(msg)
            TOTALS.violations.append(msg)


def _sends(run: Run) -> list[Any]:
    return [
        e for e in run.sim.exchange.order_log if e.user == run.user and e.op in ("create", "amend")
    ]


def _cancel_lag(run: Run, since: int) -> list[int]:
    return [
        (e.ts_ns - since) // 1_000_000
        for e in run.sim.exchange.order_log
        if e.user == run.user and e.op == "cancel" and e.ts_ns >= since
    ][:20]


def check(run: Run) -> None:
    sim, user = run.sim, run.user
    # 1. no unknown order rests, at every probe
    for p in run.probes:
        unknown = [r for r in p.resting if r[0] not in p.known and r[1] not in p.known]
        run.expect("no_orphans", not unknown, f"at '{p.label}' unknown resting {unknown}")
        if p.must_be_empty:
            run.expect("pulled_when_index_stale", not p.resting, f"at '{p.label}' {p.resting}")
    # 2. after SIGTERM nothing rests; the shutdown verified it
    rest = sim.exchange.engine.resting(user)
    run.expect("nothing_rests_after_sigterm", not rest, f"{len(rest)} orders rest")
    run.expect("verified_cancel_all", run.clean_shutdown, "shutdown not confirmed clean")
    # 3. fills exactly once, positions equal
    fills, pos, _ = ledger_view(run.ledger_path)
    acct = sim.exchange.ledger.accounts[user]
    venue = sorted((f.trade_id, f.order_id) for f in acct.fills)
    run.expect("fills_exactly_once", len(set(fills)) == len(fills), "duplicate fills in ledger")
    missing = set(venue) - set(fills)
    extra = set(fills) - set(venue)
    run.expect("every_venue_fill_in_ledger", not missing, f"missing {sorted(missing)[:5]}")
    run.expect(
        "no_phantom_fills", not extra, f"ledger has fills the venue lacks {sorted(extra)[:5]}"
    )
    vpos = {t: p.qty for t, p in acct.positions.items() if p.qty}
    run.expect("positions_equal", pos == vpos, f"ledger {pos} venue {vpos}")
    # 4. no sends while the index is stale; quotes pulled within 1 s (probe above)
    sends = _sends(run)
    for w in run.stalls:
        if w.stale_ns is None or w.end_ns is None:
            continue
        bad = [e for e in sends if w.stale_ns + IN_FLIGHT_NS <= e.ts_ns < w.end_ns]
        run.expect(
            "no_send_while_index_stale",
            not bad,
            f"{len(bad)} sends in [{w.stale_ns}, {w.end_ns}): {[(e.op, e.ticker) for e in bad[:3]]}",
        )
    # 5. books: after a socket drop every book is stale until its next snapshot
    snaps: dict[str, list[int]] = {}
    drops: list[int] = []
    skips: list[tuple[int, str]] = []
    for ts, kind, ticker in sim.hub.journal:
        if kind == "snapshot":
            snaps.setdefault(ticker, []).append(ts)
        elif kind == "drop_ws":
            drops.append(ts)
        elif kind == "skip_seq" and ticker:
            skips.append((ts, ticker))

    def next_snap(ticker: str, after: int) -> int | None:
        lst = snaps.get(ticker, [])
        i = bisect_left(lst, after)
        return lst[i] if i < len(lst) else None

    for d in drops:
        bad = []
        for e in sends:
            if e.ts_ns < d + IN_FLIGHT_NS:
                continue
            snap = next_snap(e.ticker, d)
            if snap is None or e.ts_ns < snap:
                bad.append(e)
        bad = [e for e in bad if e.ts_ns < d + 120 * S]  # until the next drop at the latest
        run.expect(
            "no_send_while_book_stale",
            not bad,
            f"drop at {d}: {len(bad)} sends before resync {[(e.op, e.ticker) for e in bad[:3]]}",
        )
    for p in run.probes:
        if p.book_drop_ns is None:
            continue
        late = [
            r for r in p.resting if (s := next_snap(r[2], p.book_drop_ns)) is None or s > p.ts_ns
        ]
        run.expect(
            "pulled_when_book_stale",
            not late,
            f"at '{p.label}' (+{(p.ts_ns - p.book_drop_ns) // 1_000_000} ms): {len(late)} "
            f"quotes rest; first resync +"
            f"{((next_snap(late[0][2], p.book_drop_ns) or 0) - p.book_drop_ns) // 1_000_000 if late else 0}"
            f" ms; cancels after "
            f"the drop (ms): {_cancel_lag(run, p.book_drop_ns)}",
        )
    for ts, ticker in skips:
        if ts > run.probes[-1].ts_ns - 2 * S:
            continue  # too close to the end to require a resync
        run.expect(
            "seq_gap_resynced",
            next_snap(ticker, ts) is not None,
            f"no snapshot for {ticker} after the gap at {ts}",
        )

"""The ledger: SQLite (WAL) record of orders, order events, fills, positions, settlements, PnL.

Why it exists: the bot must survive kill -9. Every order's client_order_id is committed
BEFORE the request leaves (so an order the venue holds is never one we cannot recognise),
fills are unique by (trade_id, order_id) (so a fill seen on the stream and again in a REST
backfill counts once), and on start `recover` rebuilds TradingState: live/pending/unknown
orders, and positions by replaying the fills with the same code the live path uses.

WAL with synchronous=NORMAL is durable against a process crash (kill -9): a committed
transaction is in the WAL file before `commit` returns; only an OS crash / power loss can
lose the last transactions. Use synchronous="FULL" to survive those too (an fsync per
commit). Each public write is one transaction. sqlite3 caches prepared statements
(`cached_statements`), so the hot-path writes are a few tens of µs (benchmarks/ledger.py).

The order intent log (`log_orders`): new orders on the quote loop's path are made durable
by appending one line per order to `<path>-intents` (one `write`, plus an fsync unless
synchronous=NORMAL) rather than by a SQLite commit, which costs 4-6x more on the cold
caches of a live decision. The rows reach SQLite before anything else touches the
database (the next transaction or read inserts them first); once that commit is done the
log is emptied. `open` inserts whatever a crash left in the log (a torn last line is a
write that never returned, so its request never left), then empties it: after a kill -9
every order we may have sent is in the orders table, PENDING, for reconciliation. The
process that opened the ledger first holds an exclusive lock on the log until it closes;
a second one (`pmbot status` beside a running bot) leaves the log alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from pmbot.core.events import Fill
from pmbot.core.money import ONE, Micros, Price
from pmbot.core.orders import LiveOrder, OrderStatus, Side
from pmbot.core.positions import Position
from pmbot.core.state import TradingState
from pmbot.errors import ConfigError, LedgerInUse, LedgerTooNew
from pmbot.store.schema import SCHEMA, SCHEMA_VERSION

__all__ = ["Ledger", "Recovery", "embedded_sim_ledger", "logged_orders"]

_TERMINAL = tuple(s.value for s in OrderStatus if s.terminal)

_INS_ORDER = (
    "INSERT INTO orders (client_order_id, order_id, ticker, side, price, initial, remaining,"
    " filled, status, post_only, order_group_id, run_id, created_ns, updated_ns)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_UPD_ORDER = (
    "UPDATE orders SET order_id=?, price=?, initial=?, remaining=?, filled=?, status=?,"
    " updated_ns=? WHERE client_order_id=?"
)
_INS_LOGGED = "INSERT OR IGNORE" + _INS_ORDER[len("INSERT") :]
_INS_EVENT = "INSERT INTO order_events (ts_ns, client_order_id, kind, detail) VALUES (?,?,?,?)"
_INS_FILL = (
    "INSERT OR IGNORE INTO fills (trade_id, order_id, client_order_id, ticker, side, price, qty,"
    " fee, is_taker, ts_ns, run_id) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
)
_UPS_STATUS = (
    "INSERT INTO fill_status (trade_id, order_id, status, ts_ns) VALUES (?,?,?,?)"
    " ON CONFLICT(trade_id, order_id) DO UPDATE SET status=excluded.status, ts_ns=excluded.ts_ns"
)
_NOT_VOIDED = (
    " WHERE NOT EXISTS (SELECT 1 FROM fill_status s WHERE s.trade_id=fills.trade_id"
    " AND s.order_id=fills.order_id AND s.status='voided')"
)
_UPS_POS = (
    "INSERT INTO positions (ticker, qty, cost, realized, fees, volume, updated_ns)"
    " VALUES (?,?,?,?,?,?,?) ON CONFLICT(ticker) DO UPDATE SET qty=excluded.qty,"
    " cost=excluded.cost, realized=excluded.realized, fees=excluded.fees,"
    " volume=excluded.volume, updated_ns=excluded.updated_ns"
)
_ORDER_COLS = (
    "client_order_id, order_id, ticker, side, price, initial, remaining, filled, status,"
    " created_ns, updated_ns"
)


@dataclass(frozen=True, slots=True)
class Recovery:
    """What `recover` put back into TradingState."""

    live_orders: int
    fills: int
    settlements: int
    last_fill_ts_ns: int | None


class Ledger:
    """One SQLite file; open with `open()` or `with Ledger(path) as ledger:`. No I/O in __init__."""

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: str = "NORMAL",
        run_id: str = "",
        wal_autocheckpoint: int = 10_000,
    ) -> None:
        if synchronous.upper() not in {"NORMAL", "FULL", "EXTRA"}:
            raise ValueError("synchronous must be NORMAL, FULL or EXTRA")
        self.path = str(path)
        self.synchronous = synchronous.upper()
        self.run_id = run_id
        self.wal_autocheckpoint = wal_autocheckpoint
        self._db: sqlite3.Connection | None = None
        self._depth = 0
        self._log_fd = -1  # the order intent log, open while the ledger is
        self._pending: list[tuple[object, ...]] = []  # logged rows not yet in SQLite
        self._flushed: list[tuple[object, ...]] = []  # ... inserted by the open transaction

    @property
    def intent_log_path(self) -> str:
        return self.path + "-intents"

    # ---- lifecycle ------------------------------------------------------------------
    def open(self, *, exclusive: bool = False) -> Ledger:
        """Open (creating the schema if needed) and replay the intent log of a crashed run.

        `exclusive`: for a bot run, which writes orders: raise `LedgerInUse` when another
        process holds the intent log, instead of opening read-mostly beside it.
        """
        db = sqlite3.connect(self.path, isolation_level=None, cached_statements=64)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={self.synchronous}")
        # a checkpoint fsyncs the database: ms-long stalls if it runs inside a hot-path
        # commit. Checkpoint from a thread instead (`checkpoint`, run by the order
        # manager's periodic task); the large auto threshold is only a safety net.
        db.execute(f"PRAGMA wal_autocheckpoint={int(self.wal_autocheckpoint)}")
        db.execute("PRAGMA foreign_keys=ON")
        found = _stored_schema_version(db)
        if found is not None and found > SCHEMA_VERSION:
            db.close()
            raise LedgerTooNew(
                f"ledger {self.path} has schema version {found}, written by a newer pmbot; "
                f"this one reads up to {SCHEMA_VERSION}: upgrade pmbot"
            )
        db.executescript(SCHEMA)
        db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)",
            (str(SCHEMA_VERSION),),
        )
        self._db = db
        fd = os.open(
            self.intent_log_path, os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600
        )
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            if exclusive:
                self.close()
                raise LedgerInUse(
                    f"ledger {self.path} is in use by another process (a bot on it, or a "
                    "`pmbot status` / `reconcile` this moment): one bot per ledger"
                ) from None
            # a running bot holds the log (e.g. `pmbot status` beside it): leave its lines to
            # it, this connection reads SQLite as it is and may not log orders
            return self
        self._log_fd = fd
        self._recover_intents()
        return self

    def close(self) -> None:
        if self._db is not None:
            if self._pending:
                with self.transaction():
                    pass  # inserts them: a clean close leaves an empty log
            self._db.close()
            self._db = None
        if self._log_fd >= 0:
            os.close(self._log_fd)
            self._log_fd = -1

    def __enter__(self) -> Ledger:
        return self.open() if self._db is None else self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def checkpoint(self) -> tuple[int, int]:
        """Copy the WAL into the database on a connection of its own (safe in a worker
        thread: `await asyncio.to_thread(ledger.checkpoint)`); returns (wal pages, copied)."""
        db = sqlite3.connect(self.path, isolation_level=None)
        try:
            row = db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            db.close()
        return int(row[1]), int(row[2])

    @property
    def db(self) -> sqlite3.Connection:
        """The connection, with every logged order inserted first (so every statement, read
        or write, sees them)."""
        if self._db is None:
            raise RuntimeError("ledger is not open")
        if self._pending:
            if self._depth:
                self._insert_pending()  # inside the open transaction: committed with it
            else:
                with self.transaction():
                    pass
        return self._db

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic unit: all of it is on disk after the block, or none of it.

        Re-entrant: writes inside an outer block join its transaction (one commit).
        """
        db = self._db
        if db is None:
            raise RuntimeError("ledger is not open")
        if self._depth:
            self._depth += 1
            try:
                yield db
            finally:
                self._depth -= 1
            return
        db.execute("BEGIN")
        self._depth = 1
        try:
            if self._pending:
                self._insert_pending()
            yield db
        except BaseException:
            self._depth = 0
            # SQLITE_FULL / IOERR / NOMEM may have rolled the transaction back already: an
            # unconditional ROLLBACK would raise and skip the restore below
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            self._pending[:0] = self._flushed  # not in SQLite after all: still only logged
            self._flushed = []
            raise
        self._depth = 0
        try:
            db.execute("COMMIT")
        except BaseException:
            # a failed COMMIT (disk full, I/O error) rolls the transaction back (or leaves it
            # open: BUSY): the logged rows it held are not in SQLite, so they are pending again
            if db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            self._pending[:0] = self._flushed
            self._flushed = []
            raise
        if self._flushed:
            self._flushed = []
            if not self._pending:
                os.ftruncate(self._log_fd, 0)  # every logged order is in SQLite now

    # ---- the order intent log ---------------------------------------------------------
    def log_orders(
        self,
        orders: Sequence[LiveOrder],
        *,
        post_only: Sequence[bool] | bool = True,
        order_group_id: str | None = None,
    ) -> None:
        """Make new orders durable before their requests leave, on the hot path: one append
        to the intent log (fsynced unless synchronous=NORMAL); their rows and create_sent
        events reach SQLite before the next statement runs (module docstring)."""
        rows = self._order_rows(orders, post_only, order_group_id)
        data = "".join([_log_line(r) for r in rows]).encode()
        fd = self._log_fd
        if fd < 0:
            raise RuntimeError("ledger is not open, or another process holds its intent log")
        written = 0
        try:
            while written < len(data):
                written += os.write(fd, data[written:])
            if self.synchronous != "NORMAL":
                os.fsync(fd)
        except BaseException:
            # a failed append (disk full) must not leave a fragment the next order's line
            # would be glued to (unreadable on replay): cut the log back to where it was
            with contextlib.suppress(OSError):
                os.ftruncate(fd, os.fstat(fd).st_size - written)
            raise
        self._pending += rows
        if self._depth:  # inside an open transaction: its statements must see them
            self._insert_pending()

    def _insert_pending(self) -> None:
        db = self._db
        assert db is not None and self._depth
        rows, self._pending = self._pending, []
        self._flushed += rows  # first: a failed insert rolls back and puts them back pending
        db.executemany(_INS_LOGGED, rows)
        db.executemany(_INS_EVENT, [(r[12], r[0], "create_sent", "") for r in rows])

    def _recover_intents(self) -> None:
        """Insert the orders a crash left only in the intent log, then empty it."""
        fd = self._log_fd
        size = os.fstat(fd).st_size
        if not size:
            return
        rows = _parse_log(os.pread(fd, size, 0))
        db = self._db
        assert db is not None
        if rows:
            db.execute("BEGIN")
            have = {
                r[0]
                for r in rows
                if db.execute("SELECT 1 FROM orders WHERE client_order_id=?", (r[0],)).fetchone()
            }
            new = [r for r in rows if r[0] not in have]
            db.executemany(_INS_ORDER, new)
            db.executemany(_INS_EVENT, [(r[12], r[0], "create_sent", "") for r in new])
            db.execute("COMMIT")
        os.ftruncate(fd, 0)

    # ---- runs -----------------------------------------------------------------------
    def start_run(
        self, run_id: str, ts_ns: int, venue: str, info: dict[str, object] | None = None
    ) -> None:
        self.run_id = run_id
        self.db.execute(
            "INSERT OR REPLACE INTO runs (run_id, started_ns, venue, info) VALUES (?,?,?,?)",
            (run_id, ts_ns, venue, json.dumps(info or {}, sort_keys=True, default=str)),
        )

    def end_run(self, ts_ns: int, info: dict[str, object] | None = None) -> None:
        if info is None:
            self.db.execute("UPDATE runs SET ended_ns=? WHERE run_id=?", (ts_ns, self.run_id))
        else:
            self.db.execute(
                "UPDATE runs SET ended_ns=?, info=? WHERE run_id=?",
                (ts_ns, json.dumps(info, sort_keys=True, default=str), self.run_id),
            )

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?,?)", (key, value))

    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return None if row is None else str(row[0])

    # ---- orders ---------------------------------------------------------------------
    def add_orders(
        self,
        orders: Sequence[LiveOrder],
        *,
        post_only: Sequence[bool] | bool = True,
        order_group_id: str | None = None,
        kind: str = "create_sent",
    ) -> None:
        """Commit new orders (normally PENDING) before their requests are sent."""
        with self.transaction() as db:
            db.executemany(_INS_ORDER, self._order_rows(orders, post_only, order_group_id))
            db.executemany(
                _INS_EVENT, [(o.created_ns, o.client_order_id, kind, "") for o in orders]
            )

    def _order_rows(
        self,
        orders: Sequence[LiveOrder],
        post_only: Sequence[bool] | bool,
        order_group_id: str | None,
    ) -> list[tuple[object, ...]]:
        flags = [post_only] * len(orders) if isinstance(post_only, bool) else list(post_only)
        return [
            (
                o.client_order_id,
                o.order_id,
                o.ticker,
                o.side.value,
                o.price,
                o.initial,
                o.remaining,
                o.filled,
                o.status.value,
                int(po),
                order_group_id,
                self.run_id,
                o.created_ns,
                o.updated_ns or o.created_ns,
            )
            for o, po in zip(orders, flags, strict=True)
        ]

    def update_orders(self, orders: Iterable[LiveOrder], kind: str, detail: str = "") -> None:
        """Mirror the orders' current state (status, ids, sizes, price) plus one event each."""
        rows = list(orders)
        if not rows:
            return
        with self.transaction() as db:
            db.executemany(
                _UPD_ORDER,
                [
                    (
                        o.order_id,
                        o.price,
                        o.initial,
                        o.remaining,
                        o.filled,
                        o.status.value,
                        o.updated_ns,
                        o.client_order_id,
                    )
                    for o in rows
                ],
            )
            db.executemany(
                _INS_EVENT, [(o.updated_ns, o.client_order_id, kind, detail) for o in rows]
            )

    def update_orders_each(self, rows: Sequence[tuple[LiveOrder, str]]) -> None:
        """Like update_orders with a kind per order, in one transaction."""
        if not rows:
            return
        with self.transaction() as db:
            db.executemany(
                _UPD_ORDER,
                [
                    (
                        o.order_id,
                        o.price,
                        o.initial,
                        o.remaining,
                        o.filled,
                        o.status.value,
                        o.updated_ns,
                        o.client_order_id,
                    )
                    for o, _ in rows
                ],
            )
            db.executemany(_INS_EVENT, [(o.updated_ns, o.client_order_id, k, "") for o, k in rows])

    def set_order_id(self, client_order_id: str, order_id: str) -> None:
        """Record a venue order id known before the request leaves (Polymarket: the signed
        order's hash), so an order whose answer is lost to a crash is still recognised."""
        self.db.execute(
            "UPDATE orders SET order_id=? WHERE client_order_id=? AND order_id IS NULL",
            (order_id, client_order_id),
        )

    def update_order(self, o: LiveOrder, kind: str, detail: str = "") -> None:
        self.update_orders((o,), kind, detail)

    def order_event(self, client_order_id: str, kind: str, ts_ns: int, detail: str = "") -> None:
        """Record an intent (e.g. amend_sent) before the request leaves."""
        self.db.execute(_INS_EVENT, (ts_ns, client_order_id, kind, detail))

    def add_events(self, rows: Sequence[tuple[int, str, str, str]]) -> None:
        """Record intents (ts_ns, client_order_id, kind, detail) in one transaction."""
        if rows:
            with self.transaction() as db:
                db.executemany(_INS_EVENT, rows)

    def order_events(self, client_order_id: str) -> list[tuple[int, str, str]]:
        return [
            (int(r[0]), str(r[1]), str(r[2]))
            for r in self.db.execute(
                "SELECT ts_ns, kind, detail FROM order_events WHERE client_order_id=? ORDER BY id",
                (client_order_id,),
            )
        ]

    def live_orders(self) -> list[LiveOrder]:
        """Orders that are (or might be) on the venue: everything not terminal."""
        q = f"SELECT {_ORDER_COLS} FROM orders WHERE status NOT IN ({','.join('?' * len(_TERMINAL))})"
        return [_order(r) for r in self.db.execute(q + " ORDER BY created_ns", _TERMINAL)]

    def get_order(self, client_order_id: str) -> LiveOrder | None:
        r = self.db.execute(
            f"SELECT {_ORDER_COLS} FROM orders WHERE client_order_id=?", (client_order_id,)
        ).fetchone()
        return None if r is None else _order(r)

    def known_ids(self) -> tuple[set[str], set[str]]:
        """(client_order_ids, venue order_ids) of every order we ever sent or adopted."""
        coids: set[str] = set()
        oids: set[str] = set()
        for c, o in self.db.execute("SELECT client_order_id, order_id FROM orders"):
            coids.add(c)
            if o:
                oids.add(o)
        return coids, oids

    def known_among(
        self, client_order_ids: Sequence[str], order_ids: Sequence[str]
    ) -> tuple[set[str], set[str]]:
        """The subset of these ids that belong to orders we sent or adopted (indexed lookups)."""
        coids = {
            c
            for c in client_order_ids
            if self.db.execute("SELECT 1 FROM orders WHERE client_order_id=?", (c,)).fetchone()
        }
        oids = {
            o
            for o in order_ids
            if self.db.execute("SELECT 1 FROM orders WHERE order_id=?", (o,)).fetchone()
        }
        return coids, oids

    # ---- fills and positions ----------------------------------------------------------
    def add_fill(self, f: Fill, position: Position | None = None, ts_ns: int | None = None) -> bool:
        """Insert a fill once (by trade_id+order_id); with its position row in the same commit.

        Returns False for a duplicate (nothing written).
        """
        with self.transaction() as db:
            cur = db.execute(
                _INS_FILL,
                (
                    f.trade_id,
                    f.order_id,
                    f.client_order_id,
                    f.ticker,
                    f.side.value,
                    f.price,
                    f.qty,
                    f.fee,
                    int(f.is_taker),
                    f.ts_ns,
                    self.run_id,
                ),
            )
            if cur.rowcount == 0:
                return False
            if f.provisional:
                db.execute(_UPS_STATUS, (f.trade_id, f.order_id, "provisional", f.ts_ns))
            if position is not None:
                self._put_position(db, position, f.ts_ns if ts_ns is None else ts_ns)
        return True

    def has_fill(self, trade_id: str, order_id: str) -> bool:
        return (
            self.db.execute(
                "SELECT 1 FROM fills WHERE trade_id=? AND order_id=?", (trade_id, order_id)
            ).fetchone()
            is not None
        )

    def confirm_fill(self, trade_id: str, order_id: str, ts_ns: int) -> bool:
        """A provisional fill became final; False when unknown or already voided/confirmed."""
        if self.fill_status(trade_id, order_id) != "provisional":
            return False
        self.db.execute(_UPS_STATUS, (trade_id, order_id, "confirmed", ts_ns))
        return True

    def void_fill(
        self, trade_id: str, order_id: str, position: Position | None = None, ts_ns: int = 0
    ) -> bool:
        """Roll a fill back (a FAILED trade): it leaves `fills()`, recovery and PnL; the
        row stays so a late copy of it is still a duplicate. Position row in the same commit.
        False when the fill is unknown or already voided."""
        with self.transaction() as db:
            if not self.has_fill(trade_id, order_id) or (
                self.fill_status(trade_id, order_id) == "voided"
            ):
                return False
            db.execute(_UPS_STATUS, (trade_id, order_id, "voided", ts_ns))
            if position is not None:
                self._put_position(db, position, ts_ns)
        return True

    def fill_status(self, trade_id: str, order_id: str) -> str | None:
        """ "provisional", "confirmed", "voided", or None (final from the start, or unknown)."""
        r = self.db.execute(
            "SELECT status FROM fill_status WHERE trade_id=? AND order_id=?", (trade_id, order_id)
        ).fetchone()
        return None if r is None else str(r[0])

    def fill_status_counts(self) -> dict[str, int]:
        return {
            str(s): int(n)
            for s, n in self.db.execute("SELECT status, COUNT(*) FROM fill_status GROUP BY status")
        }

    def fills_among(self, keys: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """The subset of these (trade_id, order_id) keys already recorded."""
        return {k for k in keys if self.has_fill(*k)}

    def fills(self) -> list[Fill]:
        """Every fill that stands (voided ones excluded), oldest first."""
        return [
            Fill(
                trade_id=r[0],
                order_id=r[1],
                client_order_id=r[2],
                ticker=r[3],
                side=Side(r[4]),
                price=r[5],
                qty=r[6],
                fee=r[7],
                is_taker=bool(r[8]),
                ts_ns=r[9],
            )
            for r in self.db.execute(
                "SELECT trade_id, order_id, client_order_id, ticker, side, price, qty, fee,"
                " is_taker, ts_ns FROM fills" + _NOT_VOIDED + " ORDER BY ts_ns, rowid"
            )
        ]

    def provisional_fills(self) -> list[Fill]:
        """Fills still provisional (a Polymarket trade not CONFIRMED or FAILED when last
        heard of), oldest first: a restart asks the venue what became of them."""
        return [
            Fill(
                r[0],
                r[1],
                r[3],
                Side(r[4]),
                r[5],
                r[6],
                r[7],
                bool(r[8]),
                r[9],
                client_order_id=r[2],
                provisional=True,
            )
            for r in self.db.execute(
                "SELECT f.trade_id, f.order_id, f.client_order_id, f.ticker, f.side, f.price,"
                " f.qty, f.fee, f.is_taker, f.ts_ns FROM fills f JOIN fill_status s"
                " ON s.trade_id=f.trade_id AND s.order_id=f.order_id"
                " WHERE s.status='provisional' ORDER BY f.ts_ns, f.rowid"
            )
        ]

    def fill_count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM fills" + _NOT_VOIDED).fetchone()[0])

    def last_fill_ts_ns(self) -> int | None:
        r = self.db.execute("SELECT MAX(ts_ns) FROM fills" + _NOT_VOIDED).fetchone()
        return None if r is None or r[0] is None else int(r[0])

    def put_position(self, p: Position, ts_ns: int) -> None:
        self._put_position(self.db, p, ts_ns)

    @staticmethod
    def _put_position(db: sqlite3.Connection, p: Position, ts_ns: int) -> None:
        db.execute(_UPS_POS, (p.ticker, p.qty, p.cost, p.realized, p.fees, p.volume, ts_ns))

    def positions(self) -> dict[str, Position]:
        """The stored position rows (a cache for status views; recovery replays fills)."""
        return {
            r[0]: Position(r[0], r[1], r[2], r[3], r[4], r[5])
            for r in self.db.execute(
                "SELECT ticker, qty, cost, realized, fees, volume FROM positions"
            )
        }

    # ---- settlements and PnL --------------------------------------------------------
    def add_settlement(
        self, ticker: str, yes_won: bool, pnl: Micros, ts_ns: int, position: Position | None = None
    ) -> None:
        value: Price = ONE if yes_won else 0
        with self.transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO settlements (ticker, result, value, pnl, ts_ns) VALUES (?,?,?,?,?)",
                (ticker, "yes" if yes_won else "no", value, pnl, ts_ns),
            )
            if position is not None:
                self._put_position(db, position, ts_ns)

    def settlements(self) -> list[tuple[str, bool, Micros, int]]:
        return [
            (str(r[0]), r[1] == "yes", int(r[2]), int(r[3]))
            for r in self.db.execute(
                "SELECT ticker, result, pnl, ts_ns FROM settlements ORDER BY ts_ns"
            )
        ]

    def add_pnl(self, ts_ns: int, realized: Micros, fees: Micros, unrealized: Micros) -> None:
        self.db.execute(
            "INSERT INTO pnl (ts_ns, realized, fees, unrealized, run_id) VALUES (?,?,?,?,?)",
            (ts_ns, realized, fees, unrealized, self.run_id),
        )

    # ---- recovery -------------------------------------------------------------------
    def recover(self, state: TradingState) -> Recovery:
        """Rebuild positions (replaying fills, then settlements) and live orders into `state`.

        Fills are replayed before orders are registered so that an order row's stored
        `filled` is not counted twice.
        """
        fills = self.fills()
        for f in fills:
            state.apply(f)
        sets = self.settlements()
        for ticker, yes_won, _pnl, _ts in sets:
            state.settle_position(ticker, yes_won, create=True)
        live = self.live_orders()
        for o in live:
            state.register_order(o)
        # terminal orders with venue ids still map fills (late stream fills) to our orders
        for c, oid in self.db.execute(
            f"SELECT client_order_id, order_id FROM orders WHERE order_id IS NOT NULL"
            f" AND status IN ({','.join('?' * len(_TERMINAL))})",
            _TERMINAL,
        ):
            state.order_ids.setdefault(oid, c)
        return Recovery(len(live), len(fills), len(sets), fills[-1].ts_ns if fills else None)


# an orders row per line, tab-separated; None as an empty field (ids and tickers never
# contain a tab or a line break: `_log_line` refuses one rather than write an ambiguous line)
_LOG_VERSION = "o1"
_LOG_TYPES = (str, str, str, str, int, int, int, int, str, int, str, str, int, int)
_LOG_NULLABLE = (1, 10)  # order_id, order_group_id


def _log_line(row: tuple[object, ...]) -> str:
    parts = [_LOG_VERSION]
    for v in row:
        x = "" if v is None else str(v)
        if "\t" in x or "\n" in x or "\r" in x:
            raise ValueError(f"intent log: a field with a tab or line break: {x!r}")
        parts.append(x)
    return "\t".join(parts) + "\n"


def _stored_schema_version(db: sqlite3.Connection) -> int | None:
    """The schema version a ledger file records (None: a new file, or no version kept)."""
    try:
        row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.OperationalError:  # no meta table yet: a new file
        return None
    try:
        return None if row is None else int(row[0])
    except ValueError:
        return None


def logged_orders(path: str | Path) -> list[tuple[object, ...]]:
    """The orders rows in a ledger's intent log not yet inserted into SQLite by its owner
    (columns as the orders table's INSERT: client_order_id, order_id, ticker, ...): with the
    orders table, every order the bot may have sent. For an outside reader of a live ledger."""
    try:
        with open(str(path) + "-intents", "rb") as f:
            return _parse_log(f.read())
    except FileNotFoundError:
        return []


def _parse_log(data: bytes) -> list[tuple[object, ...]]:
    rows = []
    # the last piece is "" or a torn write (one that never returned: its request never left)
    for line in data.decode("utf-8", errors="replace").split("\n")[:-1]:
        r = _parse_log_line(line)
        if r is not None:
            rows.append(r)
    return rows


def _parse_log_line(line: str) -> tuple[object, ...] | None:
    """A logged row, or None for a line that is not one (a torn or foreign write)."""
    parts = line.split("\t")
    if len(parts) != len(_LOG_TYPES) + 1 or parts[0] != _LOG_VERSION:
        return None
    out: list[object] = []
    try:
        for i, (typ, x) in enumerate(zip(_LOG_TYPES, parts[1:], strict=True)):
            out.append(None if (x == "" and i in _LOG_NULLABLE) else typ(x))
    except ValueError:
        return None
    return tuple(out)


def _order(r: tuple[object, ...]) -> LiveOrder:
    return LiveOrder(
        client_order_id=str(r[0]),
        order_id=None if r[1] is None else str(r[1]),
        ticker=str(r[2]),
        side=Side(str(r[3])),
        price=int(r[4]),  # type: ignore[call-overload]
        initial=int(r[5]),  # type: ignore[call-overload]
        remaining=int(r[6]),  # type: ignore[call-overload]
        filled=int(r[7]),  # type: ignore[call-overload]
        status=OrderStatus(str(r[8])),
        created_ns=int(r[9]),  # type: ignore[call-overload]
        updated_ns=int(r[10]),  # type: ignore[call-overload]
    )


def embedded_sim_ledger(path: str, default: str, tag: str) -> str:
    """The ledger of a run on a fresh embedded simulator, which knows no earlier orders.

    The configured path when the user chose one (not `default`): it must be new or empty, since
    an earlier run's orders and positions would never reconcile with the new exchange. Else a
    new file beside the default, named after the venue and the start time.
    """
    p = Path(path)
    if path != default:
        if p.exists() and p.stat().st_size > 0:
            raise ConfigError(
                "ledger.path",
                f"{path} holds an earlier run; the embedded simulator starts a new exchange "
                "that knows none of its orders: give a new path",
            )
        return path
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    return str(p.with_name(f"sim-{tag}{stamp}.sqlite3"))

"""The ledger's SQLite schema (version 1). Integer units throughout: Price, Qty, Micros, ns."""

from __future__ import annotations

__all__ = ["SCHEMA", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_id     TEXT PRIMARY KEY,
    started_ns INTEGER NOT NULL,
    ended_ns   INTEGER,
    venue      TEXT NOT NULL,
    info       TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS orders (
    client_order_id TEXT PRIMARY KEY,
    order_id        TEXT,
    ticker          TEXT NOT NULL,
    side            TEXT NOT NULL,
    price           INTEGER NOT NULL,
    initial         INTEGER NOT NULL,
    remaining       INTEGER NOT NULL,
    filled          INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL,
    post_only       INTEGER NOT NULL DEFAULT 1,
    order_group_id  TEXT,
    run_id          TEXT,
    created_ns      INTEGER NOT NULL,
    updated_ns      INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_status ON orders(status);
CREATE INDEX IF NOT EXISTS orders_order_id ON orders(order_id);
CREATE TABLE IF NOT EXISTS order_events (
    id              INTEGER PRIMARY KEY,
    ts_ns           INTEGER NOT NULL,
    client_order_id TEXT NOT NULL,
    kind            TEXT NOT NULL,
    detail          TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS fills (
    trade_id        TEXT NOT NULL,
    order_id        TEXT NOT NULL,
    client_order_id TEXT,
    ticker          TEXT NOT NULL,
    side            TEXT NOT NULL,
    price           INTEGER NOT NULL,
    qty             INTEGER NOT NULL,
    fee             INTEGER NOT NULL,
    is_taker        INTEGER NOT NULL,
    ts_ns           INTEGER NOT NULL,
    run_id          TEXT,
    PRIMARY KEY (trade_id, order_id)
);
CREATE INDEX IF NOT EXISTS fills_ts ON fills(ts_ns);
-- Polymarket trade lifecycle: a fill is provisional until confirmed; a voided one (FAILED
-- trade) stays in `fills` so it is never booked again, but recovery and PnL skip it.
-- Added without a version bump: CREATE IF NOT EXISTS upgrades older files in place.
CREATE TABLE IF NOT EXISTS fill_status (
    trade_id TEXT NOT NULL,
    order_id TEXT NOT NULL,
    status   TEXT NOT NULL,
    ts_ns    INTEGER NOT NULL,
    PRIMARY KEY (trade_id, order_id)
);
CREATE TABLE IF NOT EXISTS positions (
    ticker     TEXT PRIMARY KEY,
    qty        INTEGER NOT NULL,
    cost       INTEGER NOT NULL,
    realized   INTEGER NOT NULL,
    fees       INTEGER NOT NULL,
    volume     INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS settlements (
    ticker  TEXT PRIMARY KEY,
    result  TEXT NOT NULL,
    value   INTEGER NOT NULL,
    pnl     INTEGER NOT NULL,
    ts_ns   INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS pnl (
    ts_ns      INTEGER NOT NULL,
    realized   INTEGER NOT NULL,
    fees       INTEGER NOT NULL,
    unrealized INTEGER NOT NULL,
    run_id     TEXT
);
"""

"""Conformance: every recorded request in tests/fixtures/kalshi, replayed against the simulator
with state set up so it means the same thing, answers with the recorded status and a body of the
same shape (keys recursively, JSON types, string formats). WS frames likewise."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from pmbot.sim.kalshi_server import KalshiSim

from .rawclient import RawKalshi

FIX = Path(__file__).resolve().parent.parent / "fixtures" / "kalshi"
REC_TICKER = "KXWTACHALLENGERMATCH-26JUN11JIMLEP-LEP"

# Fields that are optional in the spec: present on some markets/orders and not others.
OPTIONAL = {
    "custom_strike",
    "floor_strike",
    "cap_strike",
    "strike_type",
    "early_close_condition",
    "occurrence_datetime",
    "settlement_ts",
    "settlement_value_dollars",
    "is_provisional",
    "mve_collection_ticker",
    "mve_selected_legs",
    "primary_participant_key",
    "subtitle",
    "average_fill_price",
    "average_fee_paid",
    "expiration_time",
    "order_group_id",
    "client_order_id",
    # recorded in June; removed from the API on 2026-07-09 (protocol §0), so not sent now
    "response_price_units",
    "fractional_trading_enabled",
    "resting_orders_count",
}
FORMATS = [
    ("rfc3339", re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")),
    ("uuid", re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")),
    ("dp6", re.compile(r"^-?\d+\.\d{6}$")),
    ("dp4", re.compile(r"^-?\d+\.\d{4}$")),
    ("dp2", re.compile(r"^-?\d+\.\d{2}$")),
]


def fmt_class(s: str) -> str:
    for name, rx in FORMATS:
        if rx.match(s):
            return name
    return "text"


def jtype(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int | float):
        return "number"
    return type(v).__name__


def shape_diff(got: Any, rec: Any, path: str = "$") -> list[str]:
    out: list[str] = []
    if jtype(got) != jtype(rec) and rec is not None:
        return [f"{path}: type {jtype(got)} != recorded {jtype(rec)}"]
    if isinstance(rec, dict):
        gk, rk = set(got), set(rec)
        for k in sorted(rk - gk - OPTIONAL):
            out.append(f"{path}: missing key {k}")
        for k in sorted(gk - rk - OPTIONAL):
            out.append(f"{path}: extra key {k}")
        for k in sorted(gk & rk):
            if k == "custom_strike":
                continue
            out += shape_diff(got[k], rec[k], f"{path}.{k}")
    elif isinstance(rec, list):
        if (
            rec and got and not isinstance(rec[0], dict | list) and len(rec) == len(got)
        ):  # a tuple: [price, count]
            for i, (g, r_) in enumerate(zip(got, rec, strict=True)):
                out += shape_diff(g, r_, f"{path}[{i}]")
        elif rec and got:
            for i, g in enumerate(got[:5]):
                out += shape_diff(g, rec[0], f"{path}[{i}]")
    elif (
        isinstance(rec, str)
        and isinstance(got, str)
        and (
            rec
            and got
            and fmt_class(got) != fmt_class(rec)
            and path.split(".")[-1] not in ("cursor", "title")
        )
    ):
        out.append(
            f"{path}: format {fmt_class(got)} ({got!r}) != recorded {fmt_class(rec)} ({rec!r})"
        )
    return out


def key_order_diff(got: Any, rec: Any, path: str = "$") -> list[str]:
    """Keys both have, in a different order (json.loads keeps the bytes' order)."""
    if not (isinstance(got, dict) and isinstance(rec, dict)):
        return []
    common = [k for k in rec if k in got]
    mine = [k for k in got if k in rec]
    out = [] if mine == common else [f"{path}: key order {mine} != recorded {common}"]
    for k in common:
        out += key_order_diff(got[k], rec[k], f"{path}.{k}")
    return out


def load(name: str) -> tuple[dict[str, Any], Any]:
    meta = json.loads((FIX / f"{name}.meta.json").read_text())
    body_file = FIX / f"{name}.json"
    body = json.loads(body_file.read_text()) if body_file.exists() else None
    return meta, body


class Replayer:
    def __init__(self, sim: KalshiSim, client: RawKalshi, ticker: str) -> None:
        self.sim, self.c, self.ticker = sim, client, ticker
        self.ids: dict[str, str] = {}  # recorded order id -> sim order id
        self.cids: dict[str, str] = {}  # recorded client id -> fresh client id
        self.cursors: dict[str, str] = {}
        self.problems: list[str] = []
        self.seen: set[str] = set()

    def path_of(self, meta: dict[str, Any]) -> str:
        p = meta["path"].removeprefix("/trade-api/v2").replace(REC_TICKER, self.ticker)
        p = p.replace("KXPGATOUR-USO26-JDAY", self.ticker)
        for rec, mine in {**self.ids, **self.cursors}.items():
            p = p.replace(rec, mine)
        return p

    def body_of(self, meta: dict[str, Any]) -> Any:
        b = meta.get("request_body")
        if not isinstance(b, dict):
            return b
        b = dict(b)
        if b.get("ticker") == REC_TICKER:
            b["ticker"] = self.ticker
        if "client_order_id" in b:
            b["client_order_id"] = self.cids.setdefault(b["client_order_id"], str(uuid.uuid4()))
        return b

    async def run(self, name: str, *, expect_status: int | None = None, **kw: Any) -> Any:
        meta, rec = load(name)
        self.seen.add(name)
        status, body, _ = await self.c.request(
            meta["method"], self.path_of(meta), self.body_of(meta), **kw
        )
        want = expect_status if expect_status is not None else meta["status"]
        if status != want:
            self.problems.append(f"{name}: status {status} != {want}: {body}")
            return body
        if expect_status is None and rec is not None:
            self.problems += [f"{name}: {d}" for d in shape_diff(body, rec)]
            if want >= 400:  # error bodies keep the venue's key order (not alphabetical)
                self.problems += [f"{name}: {d}" for d in key_order_diff(body, rec)]
        if isinstance(body, dict) and isinstance(rec, dict):
            if "order_id" in rec and "order_id" in body:
                self.ids[rec["order_id"]] = body["order_id"]
            if rec.get("cursor") and body.get("cursor"):
                self.cursors[rec["cursor"]] = body["cursor"]
        return body


async def test_rest_conformance(sim_factory: Any) -> None:
    sim: KalshiSim = await sim_factory(balance="98.0186")
    x = sim.exchange
    ticker = next(
        t
        for t, m in x.markets.items()
        if m.series_ticker == "KXINX" and m.status == "active" and m.strike_type.value == "between"
    )
    mm = sim.add_key("mm")
    now = sim.now_ns()
    x.create(
        "mm",
        ticker=ticker,
        side="bid",
        price=4700,
        count=300,
        tif="good_till_canceled",
        stp="maker",
        ts_ns=now,
    )
    x.create(
        "mm",
        ticker=ticker,
        side="ask",
        price=5200,
        count=300,
        tif="good_till_canceled",
        stp="maker",
        ts_ns=now,
    )
    x.drain()
    assert mm.user == "mm"
    c = RawKalshi(sim.rest_url, sim.ws_url, sim.key_id, sim.private_key_pem)
    r = Replayer(sim, c, ticker)
    try:
        # auth
        for n in ("auth__balance_ok", "auth__balance_alt_host"):
            await r.run(n)
        for n, skew in (
            ("auth__skew_minus5s", -5000),
            ("auth__skew_plus5s", 5000),
            ("auth__skew_minus30s", -30000),
            ("auth__skew_minus5min", -300000),
            ("auth__skew_plus5min", 300000),
        ):
            await r.run(
                n, headers=c.headers("GET", "/trade-api/v2/portfolio/balance", skew_ms=skew)
            )
        await r.run(
            "auth__bad_signature",
            headers=c.headers(
                "GET", "/trade-api/v2/portfolio/balance", sign_path="/portfolio/balance"
            ),
        )
        await r.run(
            "auth__unknown_key_id",
            headers=c.headers("GET", "/trade-api/v2/portfolio/balance", key_id=str(uuid.uuid4())),
        )
        h = c.headers("GET", "/trade-api/v2/portfolio/balance")
        del h["KALSHI-ACCESS-SIGNATURE"]
        await r.run("auth__missing_signature_header", headers=h)
        for n in (
            "auth__bad_signature",
            "auth__unknown_key_id",
            "auth__missing_signature_header",
            "auth__skew_minus30s",
        ):
            _, _rec = load(n)
        # public market data
        await r.run("markets__unauth_list", signed=False)
        await r.run("markets__unauth_single", signed=False)
        await r.run("markets__status_open")
        await r.run("markets__status_closed")
        await r.run("markets__limit_over_max")
        await r.run("markets__garbage_cursor")
        await r.run("markets__page1")
        await r.run("markets__page2")
        await r.run("markets__page3")
        await r.run("markets__single_filter_lastpage")
        await r.run("markets__single")
        await r.run("orderbook__base")
        await r.run("series__fee_changes")
        await r.run("account__limits")
        await r.run("account__endpoint_costs")
        await r.run("exchange__status")
        # orders, in the recorded session's order
        await r.run("orders__create_v2_maker")
        await r.run("orders__duplicate_client_order_id")
        await r.run("orders__get_after_create")
        sim.faults.stale_after_cancel = 1
        await r.run("orders__cancel_v2")
        got = await r.run("orders__get_after_cancel")
        assert got["order"]["status"] == "resting", (
            "stale read after cancel (fault) must still say resting"
        )
        await r.run("orders__cancel_already_canceled")
        await r.run("orders__reuse_canceled_client_id")
        await r.run("orders__cancel_unknown_id")
        await r.run("orders__create_v2_taker_ioc")
        await r.run("orders__cancel_executed")
        await r.run("fills__after_taker")
        await r.run("portfolio__positions")
        await r.run("portfolio__orders_list")
        await r.run("orders__insufficient_balance")
        await r.run("orders__invalid_price_structure")
        await r.run("orders__numeric_field_types")
        await r.run("orders__post_only_cross")
        await r.run("orders__stp_setup")
        await r.run("orders__stp_self_cross")
        await r.run("orders__stp_resting_after")
        await r.run("cleanup__stp_resting")
        # legacy V1 writes: recorded on demo before the cut-off; production (and the sim) answer 410
        for n in ("orders__legacy_create", "orders__legacy_cancel"):
            body = await r.run(n, expect_status=410)
            assert body["error"]["code"] == "deprecated_v1_order_endpoint"
        await r.run("orders__settlement_seed")
        await r.run("settlements__page")
        for n in ("cleanup__leftover_0", "cleanup__leftover_1", "cleanup__leftover_2"):
            await r.run(n)
        await r.run("trades__public_recorded", signed=False)
        await sim.step(61)  # the 10:00 hourly ladder determines and settles
        await r.run("markets__status_settled")
        await r.run("settlements__end_of_session")
    finally:
        await c.close()
    assert not r.problems, "\n".join(r.problems)
    replayed = {p.name.removesuffix(".meta.json") for p in FIX.glob("*.meta.json")} - {
        "session__manifest"
    }
    ws = {n for n in replayed if n.startswith("ws__")}
    assert replayed - ws - r.seen == set()


async def test_ws_conformance(sim_factory: Any) -> None:
    for name in ("ws__orderbook_trade_noleg", "ws__orderbook_trade_yes"):
        sim: KalshiSim = await sim_factory()
        x = sim.exchange
        ticker = next(
            t for t, m in x.markets.items() if m.series_ticker == "KXINX" and m.status == "active"
        )
        sim.add_key("mm")
        now = sim.now_ns()
        x.create(
            "mm",
            ticker=ticker,
            side="bid",
            price=4700,
            count=300,
            tif="good_till_canceled",
            stp="maker",
            ts_ns=now,
        )
        a = x.create(
            "mm",
            ticker=ticker,
            side="ask",
            price=5200,
            count=200,
            tif="good_till_canceled",
            stp="maker",
            ts_ns=now,
        )
        x.drain()
        meta = json.loads((FIX / f"{name}.meta.json").read_text())
        rec = [
            json.loads(line)
            for line in (FIX / f"{name}.jsonl").read_text().splitlines()
            if line.strip()
        ]
        c = RawKalshi(sim.rest_url, sim.ws_url, sim.key_id, sim.private_key_pem)
        try:
            ws = await c.ws()
            cmd = json.loads(json.dumps(meta["subscribe_cmd"]).replace(REC_TICKER, ticker))
            await ws.send_str(json.dumps(cmd))
            got = [json.loads((await ws.receive(timeout=5)).data) for _ in range(3)]
            x.cancel("mm", a.order_id, sim.now_ns())
            x.create(
                "mm",
                ticker=ticker,
                side="ask",
                price=5200,
                count=100,
                tif="good_till_canceled",
                stp="maker",
                ts_ns=sim.now_ns(),
            )
            await sim.step(1)
            got += [json.loads((await ws.receive(timeout=5)).data) for _ in range(2)]
            await ws.close()
        finally:
            await c.close()
        raw_first = (FIX / f"{name}.jsonl").read_text().splitlines()[0]
        for g, r_ in zip(got, rec, strict=False):
            assert list(g) == list(r_), (g, r_)  # key order type,(id|sid),(seq),msg as recorded
            assert not shape_diff(g, r_), shape_diff(g, r_)
        assert [g["type"] for g in got] == [r_["type"] for r_ in rec[:5]]
        assert [g.get("seq") for g in got[2:]] == [1, 2, 3]
        no_side = got[2]["msg"]["no_dollars_fp"][0][0]
        assert no_side == (
            "0.5200" if meta["subscribe_cmd"]["params"]["use_yes_price"] else "0.4800"
        )
        assert raw_first.startswith('{"type":"subscribed","id":1,')
        assert isinstance(aiohttp.__version__, str)

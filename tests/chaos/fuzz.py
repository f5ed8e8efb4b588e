"""Decoder fuzzing at the edge: recorded fixtures mutated (structure and bytes), fed through
the same entry points the bot uses. Each case must give a clean value or a typed error
(pmbot.errors.PmbotError); anything else is a finding.

Targets: Kalshi WS frames (KalshiStream.receive: decode, convert, book), Kalshi REST bodies
(decode + convert, error bodies), Polymarket WS (MarketStream/UserStream.on_frame), Polymarket
REST (decode + status check), config TOML (load_settings).
"""

from __future__ import annotations

import json
import logging
import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pmbot.core import events as ev
from pmbot.core.market import FeeSchedule, MarketSpec, StrikeType
from pmbot.core.money import PriceGrid
from pmbot.core.state import TradingState
from pmbot.errors import PmbotError
from pmbot.settings import load_settings
from pmbot.venues.kalshi import convert as kc
from pmbot.venues.kalshi import rest as krest
from pmbot.venues.kalshi import wire as kw
from pmbot.venues.kalshi.stream import KalshiStream
from pmbot.venues.polymarket import rest as prest
from pmbot.venues.polymarket import wire as pw
from pmbot.venues.polymarket.convert import MarketInfo
from pmbot.venues.polymarket.stream import MarketStream, UserStream

__all__ = ["TARGETS", "Finding", "run_cases"]

ROOT = Path(__file__).resolve().parents[2]
KFX = ROOT / "tests" / "fixtures" / "kalshi"
PFX = ROOT / "tests" / "fixtures" / "polymarket"

WEIRD: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    1,
    2**63,
    -(2**70),
    1e308,
    -0.0,
    0.5,
    "",
    "x",
    "0",
    "-1.00",
    "0.0000",
    "1.0000",
    "1.00001",
    "NaN",
    "inf",
    "1e999",
    "99999999999999999999.99",
    "\u0000",
    "\U0001f600" * 3,
    "a" * 5000,
    [],
    {},
    [[]],
    [["0.5", "1"]],
    [["x", "y", "z"]],
    {"a": 1},
    "2026-13-45T99:99:99Z",
    "yes",
    "no",
    "bid",
    "ask",
    "resting",
    "canceled",
    "executed",
]


class Finding(Exception):
    """An exception outside pmbot.errors escaped a decoder."""


def _mutate_json(obj: Any, rng: random.Random) -> Any:
    """Change one place in a JSON tree (delete, retype, duplicate, blow up)."""
    if isinstance(obj, dict) and obj and rng.random() < 0.85:
        k = rng.choice(list(obj))
        r = rng.random()
        out = dict(obj)
        if r < 0.15:
            del out[k]
        elif r < 0.45:
            out[k] = rng.choice(WEIRD)
        elif r < 0.5:
            out[k + "_x"] = rng.choice(WEIRD)
        else:
            out[k] = _mutate_json(obj[k], rng)
        return out
    if isinstance(obj, list) and obj and rng.random() < 0.85:
        i = rng.randrange(len(obj))
        r = rng.random()
        out2 = list(obj)
        if r < 0.15:
            del out2[i]
        elif r < 0.25:
            out2.insert(i, obj[i])
        elif r < 0.4:
            out2[i] = rng.choice(WEIRD)
        else:
            out2[i] = _mutate_json(obj[i], rng)
        return out2
    return rng.choice(WEIRD)


def _mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    if not data:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(8)))
    r = rng.random()
    i = rng.randrange(len(data))
    if r < 0.3:
        return data[:i]
    if r < 0.6:
        return data[:i] + bytes([rng.randrange(256)]) + data[i + 1 :]
    if r < 0.8:
        return data[:i] + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9))) + data[i:]
    j = rng.randrange(i, len(data) + 1)
    return data[:i] + data[i:j] * 2 + data[j:]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One mutated copy: mostly structural (still JSON), sometimes raw bytes."""
    if rng.random() < 0.75:
        try:
            obj = json.loads(data)
        except ValueError:
            return _mutate_bytes(data, rng)
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            obj = _mutate_json(obj, rng)
        return json.dumps(obj).encode()
    return _mutate_bytes(data, rng)


# ---- targets: (seed corpus, one case) --------------------------------------------------------
def _kalshi_frames() -> list[bytes]:
    return [
        line
        for p in sorted(KFX.glob("ws__*.jsonl"))
        for line in p.read_bytes().splitlines()
        if line.strip()
    ]


def _spec(t: str) -> MarketSpec:
    g = PriceGrid.linear_cent()
    return MarketSpec(t, "E", "S", StrikeType.GREATER, 1.0, None, g, FeeSchedule(), 0)


class _KalshiWs:
    """A stream fed the recorded session's prefix (subscriptions, snapshots) once."""

    def __init__(self) -> None:
        self.frames = _kalshi_frames()
        tickers = {
            json.loads(f).get("msg", {}).get("market_ticker")
            for f in self.frames
            if b"market_ticker" in f
        }
        self.state = TradingState()
        for t in tickers:
            if isinstance(t, str):
                self.state.add_market(_spec(t))
        self.stream = KalshiStream(self.state.apply, use_yes_price=True)
        self.stream.connected(0)
        for f in self.frames:
            self.stream.receive(f, 1)

    def case(self, data: bytes) -> None:
        self.stream.receive(data, 2)
        self.stream.data_to_send()


RESPONSE_TYPES: dict[str, Any] = {}


def _kalshi_rest_corpus() -> list[tuple[str, bytes]]:
    out = []
    for p in sorted(KFX.glob("*.json")):
        if p.name.endswith(".meta.json"):
            continue
        meta = p.with_name(p.stem + ".meta.json")
        status = json.loads(meta.read_text()).get("status", 200) if meta.exists() else 200
        out.append((f"{status}", p.read_bytes()))
    return out


_KTYPES = [
    kw.MarketsPage,
    kw.MarketResponse,
    kw.FillsPage,
    kw.OrdersPage,
    kw.OrderResponse,
    kw.OrderbookResponse,
    kw.PositionsPage,
    kw.SettlementsPage,
    kw.CreateOrderResponse,
    kw.CancelOrderResponse,
    kw.Balance,
    kw.ExchangeStatus,
    kw.AccountLimits,
    kw.EndpointCosts,
    kw.TradesPage,
    kw.FeeChanges,
]


def _kalshi_rest_case(data: bytes, status: str) -> None:
    if int(status) >= 400:
        e = krest.error_from_body(int(status), data)
        assert isinstance(e, PmbotError)
        return
    for tp in _KTYPES:
        try:
            v = kw.decode(tp, data)
        except PmbotError:
            continue
        if isinstance(v, kw.MarketsPage):
            for m in v.markets or ():
                kc.market_spec(m, FeeSchedule())
        elif isinstance(v, kw.MarketResponse):
            kc.market_spec(v.market, FeeSchedule())
        elif isinstance(v, kw.FillsPage):
            for f in v.fills or ():
                kc.fill_event(f, 0)
        elif isinstance(v, kw.OrdersPage):
            for o in v.orders or ():
                kc.order_update(o, 0)
        elif isinstance(v, kw.OrderResponse):
            kc.order_update(v.order, 0)
        elif isinstance(v, kw.OrderbookResponse):
            kc.rest_book_snapshot("T", v.orderbook_fp, 0)
        elif isinstance(v, kw.PositionsPage):
            for p in v.market_positions or ():
                kc.position_snapshot(p, 0)
        elif isinstance(v, kw.ExchangeStatus):
            kc.exchange_status(v, 0)


def _poly_corpus(prefix: str) -> list[bytes]:
    return [p.read_bytes() for p in sorted(PFX.glob(prefix + "*.json"))]


def _poly_info() -> MarketInfo:
    d = json.loads((PFX / "ws_market_price_change_crossing_burst.json").read_bytes())
    yes = d[0]["asset_id"]
    no = next(e["asset_id"] for e in d[1]["price_changes"] if e["asset_id"] != yes)
    return MarketInfo(d[0]["market"], yes, no, tick="0.001")


class _PolyWs:
    def __init__(self) -> None:
        self.m = _poly_info()
        t = json.loads((PFX / "ws_user_trade_full.json").read_bytes())
        self.user = UserStream([self.m, MarketInfo(t["market"], t["asset_id"], "2")], t["owner"])
        self.market = MarketStream([self.m])

    def case(self, data: bytes) -> None:
        self.market.on_frame(data, 1)
        self.user.on_frame(data, 1)


_PTYPES: list[Any] = [
    pw.PolyBook,
    pw.PolyMarket,
    pw.PolyFeeRate,
    pw.PolyOrderResponse,
    list[pw.PolyOrderResponse],
    pw.PolyCancelResponse,
    pw.PolyOpenOrder,
    pw.PolyOrdersPage,
    pw.PolyTradesPage,
    pw.PolyTrade,
    pw.PolyBalanceAllowance,
    pw.PolyApiCreds,
    pw.PolyGammaMarket,
    list[pw.PolyGammaEvent],
    pw.PolyDataApiPage,
]


def _poly_rest_case(data: bytes, rng: random.Random) -> None:
    status = rng.choice((200, 200, 200, 400, 401, 404, 425, 429, 500, 503, 418))
    headers = {"Retry-After": rng.choice(("1", "0.5", "x", "", "1e9", "-3"))}
    try:
        body = prest.check(status, headers, data)
    except PmbotError:
        return
    for tp in _PTYPES:
        try:
            v = pw.decode(body, tp)
        except PmbotError:
            continue
        if isinstance(v, pw.PolyOrderResponse):
            prest.order_result(v)


_TOML_VALUES = [
    "1",
    "-1",
    "0",
    "1e999",
    "nan",
    "inf",
    '"x"',
    '""',
    "true",
    "[]",
    "{}",
    '"sim"',
    "[1, 2]",
    "1979-05-27T07:32:00Z",
    '"/etc/passwd"',
    "99999999999999999999",
    "0.0",
    '"0.5"',
    "{a = 1}",
]


def _toml_mutate(text: str, rng: random.Random) -> str:
    lines = text.splitlines()
    for _ in range(rng.choice((1, 1, 2, 3))):
        if not lines:
            break
        i = rng.randrange(len(lines))
        r = rng.random()
        ln = lines[i]
        if r < 0.5 and "=" in ln and not ln.lstrip().startswith("#"):
            k = ln.split("=", 1)[0]
            lines[i] = f"{k}= {rng.choice(_TOML_VALUES)}"
        elif r < 0.6:
            del lines[i]
        elif r < 0.7:
            lines.insert(i, lines[i])
        elif r < 0.8:
            lines.insert(i, f"unknown_{rng.randrange(9)} = {rng.choice(_TOML_VALUES)}")
        elif r < 0.9:
            lines.insert(i, rng.choice(("[bot]", "[nope]", "[[x]]", "[risk", "= 1")))
        else:
            lines[i] = _mutate_bytes(ln.encode(), rng).decode("utf-8", "replace")
    return "\n".join(lines)


class _Toml:
    def __init__(self) -> None:
        self.seed = (ROOT / "config" / "example.toml").read_text()
        self.dir = Path(tempfile.mkdtemp(prefix="pmbot-fuzz-"))

    def case(self, text: str) -> None:
        p = self.dir / "c.toml"
        p.write_text(text, encoding="utf-8")
        load_settings(p, environ={})


def _targets() -> dict[str, Callable[[random.Random], None]]:
    kws = _KalshiWs()
    krc = _kalshi_rest_corpus()
    pws = _PolyWs()
    pwc = _poly_corpus("ws_")
    prc = [
        *_poly_corpus("http_"),
        *_poly_corpus("clob_"),
        *_poly_corpus("gamma_"),
        *_poly_corpus("data_"),
    ]
    toml = _Toml()
    return {
        "kalshi_ws": lambda rng: kws.case(mutate(rng.choice(kws.frames), rng)),
        "kalshi_rest": lambda rng: (lambda st_b: _kalshi_rest_case(mutate(st_b[1], rng), st_b[0]))(
            rng.choice(krc)
        ),
        "polymarket_ws": lambda rng: pws.case(mutate(rng.choice(pwc), rng)),
        "polymarket_rest": lambda rng: _poly_rest_case(mutate(rng.choice(prc), rng), rng),
        "config_toml": lambda rng: toml.case(_toml_mutate(toml.seed, rng)),
        "_kws": kws.case,  # type: ignore[dict-item]
        "_pws": pws.case,  # type: ignore[dict-item]
    }


TARGETS = ["kalshi_ws", "kalshi_rest", "polymarket_ws", "polymarket_rest", "config_toml"]
_BUILT: dict[str, Callable[[random.Random], None]] = {}


def one_case(target: str, seed: int) -> None:
    """Run case `seed` of `target`; raise Finding on anything but a value or a PmbotError."""
    if not _BUILT:
        _BUILT.update(_targets())
    rng = random.Random(seed)
    try:
        _BUILT[target](rng)
    except PmbotError:
        pass
    except Exception as e:
        raise Finding(f"{target} seed={seed}: {type(e).__name__}: {e}") from e


def run_cases(target: str, n: int, seed0: int = 0) -> list[str]:
    """Run n seeded cases; return the findings (at most 20, one per distinct error type/site)."""
    logging.getLogger("pmbot").setLevel(logging.CRITICAL)
    try:
        found: dict[str, str] = {}
        for s in range(seed0, seed0 + n):
            try:
                one_case(target, s)
            except Finding as f:
                key = f"{type(f.__cause__).__name__}@{_site(f.__cause__)}"
                found.setdefault(key, str(f))
                if len(found) >= 20:
                    break
        return list(found.values())
    finally:
        logging.getLogger("pmbot").setLevel(logging.NOTSET)


def _site(e: BaseException | None) -> str:
    tb = e.__traceback__ if e else None
    last = ""
    while tb is not None:
        last = f"{tb.tb_frame.f_code.co_filename.rsplit('/', 1)[-1]}:{tb.tb_lineno}"
        tb = tb.tb_next
    return last


_ = ev


def feed(target: str, data: bytes) -> None:
    """Raw bytes straight into a target's entry point (hypothesis-generated inputs)."""
    if not _BUILT:
        _BUILT.update(_targets())
    try:
        if target == "kalshi_ws":
            _BUILT["_kws"](data)  # type: ignore[call-arg,arg-type]
        elif target == "kalshi_rest":
            _kalshi_rest_case(data, "200")
            _kalshi_rest_case(data, "400")
        elif target == "polymarket_ws":
            _BUILT["_pws"](data)  # type: ignore[call-arg,arg-type]
        elif target == "polymarket_rest":
            _poly_rest_case(data, random.Random(len(data)))
        else:
            raise ValueError(target)
    except PmbotError:
        pass
    except Exception as e:
        raise Finding(f"{target} data={data[:200]!r}: {type(e).__name__}: {e}") from e

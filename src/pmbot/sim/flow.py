"""Seeded background flow that keeps the S&P books alive: makers, noise traders, informed traders.

* Makers quote every near-the-money market around the true fair value (from the simulator's
  own index, a driftless lognormal with the path's volatility) and refresh only every few
  seconds, so their quotes go stale after an index move.
* Noise traders send small IOC orders at the touch at random (Poisson per market).
* Informed traders compare the book to the true fair value each step and pick off any quote
  that is mispriced by more than a margin: the cost a slow market maker must survive.
Pure: time comes in as ts_ns, randomness from the given `random.Random`.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from pmbot.core.market import StrikeType
from pmbot.core.money import ONE
from pmbot.sim.engine import IOC
from pmbot.sim.exchange import Exchange, ExchangeError
from pmbot.sim.index import SCALE, IndexPath, et_date, session_bounds_ns
from pmbot.sim.markets import SimMarket

__all__ = ["FLOW_USERS", "Flow", "FlowConfig", "fair_value"]

MM, NOISE, INFORMED = "flow-mm", "flow-noise", "flow-informed"
FLOW_USERS = (MM, NOISE, INFORMED)
TICK = 100  # one cent in Price units
YEAR_S = 252 * 23_400


@dataclass(slots=True)
class FlowConfig:
    makers: bool = True
    noise: bool = True
    informed: bool = True
    half_spread_ticks: int = 1
    levels: int = 3  # price levels per side each maker quotes (size grows away from the touch)
    maker_size: tuple[int, int] = (500, 3000)  # Qty (5-30 contracts)
    maker_refresh_s: float = 5.0
    noise_per_market_s: float = 0.02
    noise_size: tuple[int, int] = (100, 1000)
    informed_margin: int = 200  # Price units beyond fair before informed traders act
    band: tuple[float, float] = (0.02, 0.98)


def _ncdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def fair_value(
    m: SimMarket, level: int, ts_ns: int, vol: float, open_ns: int | None = None
) -> float:
    """P(YES) under a driftless lognormal over the trading time left to the reference time."""
    if open_ns is None:
        open_ns = session_bounds_ns(et_date(m.close_ns))[0]
    rem = max(0, m.close_ns - max(ts_ns, open_ns)) / 1e9
    if ts_ns < open_ns:
        rem += 23_400 * 0.25  # overnight gap variance
    sig = vol * math.sqrt(rem / YEAR_S)
    s = level / SCALE

    def above(k: int) -> float:  # P(S_T >= k)
        kk = k / SCALE
        if sig <= 1e-9:
            return 1.0 if s >= kk else 0.0
        return _ncdf(math.log(s / kk) / sig)

    st = m.strike_type
    if st is StrikeType.BETWEEN:
        assert m.floor_strike is not None and m.cap_strike is not None
        return max(0.0, above(m.floor_strike) - above(m.cap_strike + 1))
    if st in (StrikeType.GREATER, StrikeType.GREATER_OR_EQUAL):
        assert m.floor_strike is not None
        return above(m.floor_strike + (1 if st is StrikeType.GREATER else 0))
    assert m.cap_strike is not None
    return 1.0 - above(m.cap_strike)


class Flow:
    def __init__(
        self, exchange: Exchange, index: IndexPath, cfg: FlowConfig, rng: random.Random
    ) -> None:
        self.x = exchange
        self.index = index
        self.cfg = cfg
        self.rng = rng
        self.quotes: dict[
            str, tuple[list[str], int]
        ] = {}  # ticker -> (maker order ids, next refresh)
        self._open: dict[int, int] = {}  # close_ns -> that day's session open
        for u in FLOW_USERS:
            exchange.ledger.open(u, 10**15, keep_history=False)
            exchange.engine.transient_users.add(u)
            exchange.unlimited.add(u)

    def step(self, ts_ns: int, dt_s: float) -> None:
        if self.x.trading_paused or not self.x.exchange_active:
            return
        level = self.index.level_at(ts_ns)
        lo, hi = self.cfg.band
        for m in list(self.x.unsettled.values()):
            if m.status != "active" or m.paused:
                continue
            op = self._open.get(m.close_ns)
            if op is None:
                op = self._open[m.close_ns] = session_bounds_ns(et_date(m.close_ns))[0]
            fair = fair_value(m, level, ts_ns, self.index.vol, op)
            live = lo < fair < hi
            if self.cfg.makers:
                self._make(m, fair, live, ts_ns)
            if not live:
                continue
            if self.cfg.informed:
                self._inform(m, fair, ts_ns)
            if self.cfg.noise and self.rng.random() < self.cfg.noise_per_market_s * dt_s:
                self._noise(m, ts_ns)

    def _place(
        self, user: str, m: SimMarket, side: str, price: int, n: int, ts_ns: int, tif: str
    ) -> str | None:
        price = max(TICK, min(ONE - TICK, price))
        try:
            o = self.x.create(
                user,
                ticker=m.ticker,
                side=side,
                price=price,
                count=n,
                tif=tif,
                stp="maker",
                ts_ns=ts_ns,
            )
        except ExchangeError:
            return None
        return o.order_id if o.status == "resting" else None

    def _make(self, m: SimMarket, fair: float, live: bool, ts_ns: int) -> None:
        q = self.quotes.get(m.ticker)
        if q is not None and ts_ns < q[1] and live:
            return
        if q is not None:
            for oid in q[0]:
                if oid in self.x.engine.orders:
                    self.x.engine.cancel(oid, ts_ns)
            self.x.flush(ts_ns)
            del self.quotes[m.ticker]
        if not live:
            return
        hs = self.cfg.half_spread_ticks * TICK
        fp = round(fair * ONE)
        bid = (fp - hs) // TICK * TICK
        ask = -((-(fp + hs)) // TICK) * TICK
        a, b = self.cfg.maker_size
        ids = []
        for k in range(self.cfg.levels):
            for side, px in (("bid", bid - k * TICK), ("ask", ask + k * TICK)):
                if TICK <= px <= ONE - TICK:
                    n = self.rng.randint(a, b) * (k + 1) // 100 * 100
                    oid = self._place(MM, m, side, px, n, ts_ns, "good_till_canceled")
                    if oid is not None:
                        ids.append(oid)
        jitter = self.rng.uniform(0.5, 1.5) * self.cfg.maker_refresh_s
        self.quotes[m.ticker] = (ids, ts_ns + int(jitter * 1e9))

    def _inform(self, m: SimMarket, fair: float, ts_ns: int) -> None:
        book = self.x.engine.book(m.ticker)
        fp = round(fair * ONE)
        a = book.best_ask()
        if a is not None and a < fp - self.cfg.informed_margin:
            self._place(INFORMED, m, "bid", a, book.level_size(False, a), ts_ns, IOC)
        b = book.best_bid()
        if b is not None and b > fp + self.cfg.informed_margin:
            self._place(INFORMED, m, "ask", b, book.level_size(True, b), ts_ns, IOC)

    def _noise(self, m: SimMarket, ts_ns: int) -> None:
        book = self.x.engine.book(m.ticker)
        a, b = self.cfg.noise_size
        n = self.rng.randint(a, b) // 100 * 100
        if self.rng.random() < 0.5:
            px = book.best_ask()
            if px is not None:
                self._place(NOISE, m, "bid", px, n, ts_ns, IOC)
        else:
            px = book.best_bid()
            if px is not None:
                self._place(NOISE, m, "ask", px, n, ts_ns, IOC)

"""The S&P 500 series the simulator lists: KXINX daily ranges and KXINXU hourly ladders.

KXINX (daily, 16:00 ET; 13:00 on early-close days): 25-point buckets `[lo, lo + 24.9999]` (ticker `B<floor(midpoint)>`,
e.g. 8050-8074.9999 -> B8062) plus two tails: below the lowest bucket (`less`, cap = lowest lo,
ticker `T<lo - 0.0001>`) and above the highest (`greater`, floor = hi cap, ticker `T<cap + 0.0001>`
rendered as the round boundary). KXINXU (hourly H1000-H1600 ET, to H1300 on early-close days): `greater_or_equal` strikes
every 5 points, ticker `T<K - 0.0001>`, floor_strike K. Each trading day's events are created
at 16:00 ET of the previous calendar day (or when the simulator starts) around the index level
then, opened on schedule and closed at their reference time. Pure.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction

from pmbot.core.market import FeeSchedule, FeeType, StrikeType, strike_wins
from pmbot.core.money import PriceGrid
from pmbot.sim.index import ET, SCALE, close_hour, et_ns, is_trading_day

__all__ = ["SERIES", "SimEvent", "SimMarket", "SimSeries", "build_day", "yes_wins"]

MONTHS = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]


@dataclass(slots=True)
class SimSeries:
    ticker: str
    title: str
    frequency: str
    fees: FeeSchedule


SERIES = {
    "KXINX": SimSeries(
        "KXINX", "S&P 500 range", "daily", FeeSchedule(FeeType.QUADRATIC, Fraction(1))
    ),
    "KXINXU": SimSeries(
        "KXINXU", "S&P 500 above/below", "hourly", FeeSchedule(FeeType.QUADRATIC, Fraction(1))
    ),
}


@dataclass(slots=True)
class SimMarket:
    ticker: str
    event_ticker: str
    series_ticker: str
    strike_type: StrikeType
    floor_strike: int | None  # 1e-4 points
    cap_strike: int | None
    title: str
    yes_sub_title: str
    rules_primary: str
    created_ns: int
    open_ns: int
    close_ns: int
    market_id: str = ""
    status: str = "initialized"
    result: str = ""
    expiration_value: int | None = None
    determined_ns: int = 0
    settled_ns: int = 0
    updated_ns: int = 0
    last_price: int = 0
    last_size: int = 0
    volume: int = 0
    volume_24h: int = 0
    open_interest: int = 0
    paused: bool = False
    # the market's valid prices (protocol §5.1): a label and its `price_ranges`
    price_level_structure: str = "linear_cent"
    grid: PriceGrid = field(default_factory=PriceGrid.linear_cent)


@dataclass(slots=True)
class SimEvent:
    event_ticker: str
    series_ticker: str
    title: str
    sub_title: str
    strike_ns: int
    mutually_exclusive: bool
    collateral_return_type: str
    markets: list[str] = field(default_factory=list)
    updated_ns: int = 0
    fee_override: FeeSchedule | None = None  # event-level fee_type/fee_multiplier_override


def yes_wins(m: SimMarket, value: int) -> bool:
    return strike_wins(m.strike_type, m.floor_strike, m.cap_strike, value)


def strike_str(v: int) -> str:
    """1e-4 points -> '7649.9999' or '7650' (trailing zeros trimmed)."""
    q, r = divmod(v, SCALE)
    return f"{q}.{r:04d}".rstrip("0").rstrip(".") if r else str(q)


def commas(v: int) -> str:
    q, r = divmod(v, SCALE)
    return f"{q:,}" + (f".{r:04d}".rstrip("0") if r else "")


def date_code(d: date) -> str:
    return f"{d.year % 100:02d}{MONTHS[d.month - 1]}{d.day:02d}"


def _mid_uuid(seed: int, ticker: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"pmbot-sim/{seed}/{ticker}"))


def build_day(
    d: date,
    level: int,
    created_ns: int,
    *,
    seed: int = 0,
    inx_buckets: int = 14,
    inxu_strikes: int = 20,
) -> tuple[list[SimEvent], list[SimMarket]]:
    """Create the KXINX event and the KXINXU hourly events of trading day `d`."""
    if not is_trading_day(d):
        return [], []
    events: list[SimEvent] = []
    markets: list[SimMarket] = []
    human = f"{d:%b} {d.day}, {d.year}"
    tz = datetime.fromtimestamp(et_ns(d, 16, 0) / 1e9, ET).tzname()  # EDT or EST
    prev_16 = et_ns(d - timedelta(days=1), 16, 0)
    # KXINX: daily range at the close, 16:00 ET (13:00 on an early-close day, which lists
    # events only up to H1300: protocol §8.3)
    ch = close_hour(d)
    at = f"{ch - 12}pm"
    close = et_ns(d, ch, 0)
    et = f"KXINX-{date_code(d)}H{ch}00"
    ev = SimEvent(
        et, "KXINX", f"S&P 500 on {human} at {at} {tz}?", f"On {human}", close, True, "MECNET"
    )
    step = 25 * SCALE
    center = (level // step) * step
    lo0 = center - inx_buckets * step
    hi_end = center + (inx_buckets + 1) * step  # exclusive upper boundary
    open_inx = max(created_ns, et_ns(d, 3, 10))
    lows = list(range(lo0, hi_end, step))

    def mk(
        ticker: str,
        st: StrikeType,
        fl: int | None,
        cap: int | None,
        sub: str,
        rule: str,
        ev: SimEvent,
        open_ns: int,
        close_ns: int,
        title: str,
    ) -> None:
        m = SimMarket(
            ticker,
            ev.event_ticker,
            ev.series_ticker,
            st,
            fl,
            cap,
            title,
            sub,
            rule,
            created_ns,
            open_ns,
            close_ns,
            market_id=_mid_uuid(seed, ticker),
            updated_ns=created_ns,
        )
        markets.append(m)
        ev.markets.append(ticker)

    mk(
        f"{et}-T{strike_str(lo0 - 1)}",
        StrikeType.LESS,
        None,
        lo0,
        f"{commas(lo0 - 1)} or below",
        f"If the S&P 500 index value on {human} at {at} {tz} is below {strike_str(lo0)}, then the market resolves to Yes.",
        ev,
        open_inx,
        close,
        ev.title,
    )
    for lo in lows:
        hi = lo + step - 1
        mid = (lo + hi) // 2 // SCALE
        mk(
            f"{et}-B{mid}",
            StrikeType.BETWEEN,
            lo,
            hi,
            f"{commas(lo)} to {commas(hi)}",
            f"If the S&P 500 index value on {human} at {at} {tz} is between {strike_str(lo)} and {strike_str(hi)}, "
            "then the market resolves to Yes.",
            ev,
            open_inx,
            close,
            ev.title,
        )
    top = hi_end - 1
    mk(
        f"{et}-T{strike_str(hi_end)}",
        StrikeType.GREATER,
        top,
        None,
        f"{commas(hi_end)} or above",
        f"If the S&P 500 index value on {human} at {at} {tz} is above {strike_str(top)}, then the market resolves to Yes.",
        ev,
        open_inx,
        close,
        ev.title,
    )
    events.append(ev)
    # KXINXU: hourly above/below ladders
    kstep = 5 * SCALE
    kc = (level // kstep) * kstep
    for hh in range(10, ch + 1):
        close_h = et_ns(d, hh, 0)
        et_u = f"KXINXU-{date_code(d)}H{hh:02d}00"
        label = f"{hh - 12 if hh > 12 else hh}{'pm' if hh >= 12 else 'am'} {tz}"
        evu = SimEvent(
            et_u,
            "KXINXU",
            f"S&P 500 above or below on {human} at {label}?",
            f"On {human}",
            close_h,
            False,
            "DIRECNET",
        )
        open_u = max(created_ns, prev_16 if hh < ch else et_ns(d, 3, 10))
        for i in range(-inxu_strikes, inxu_strikes + 1):
            k = kc + i * kstep
            mk(
                f"{et_u}-T{strike_str(k - 1)}",
                StrikeType.GREATER_OR_EQUAL,
                k,
                None,
                f"{commas(k)} or above",
                f"If the S&P 500 index value on {human} at {label} is above {strike_str(k - 1)}, then the market "
                "resolves to Yes.",
                evu,
                open_u,
                close_h,
                evu.title,
            )
        events.append(evu)
    return events, markets

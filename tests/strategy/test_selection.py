from __future__ import annotations

from pmbot.core.market import FeeSchedule, MarketSpec, StrikeType
from pmbot.core.money import PriceGrid
from pmbot.strategy.selection import distance_to_strike, select_event, select_markets

G = PriceGrid.linear_cent()


def spec(
    t: str, ev: str, st: StrikeType, lo: float | None, hi: float | None, close: int
) -> MarketSpec:
    return MarketSpec(t, ev, "KXINX", st, lo, hi, G, FeeSchedule(), close)


def ladder(ev: str, close: int) -> list[MarketSpec]:
    out = [spec(f"{ev}-T6474.9999", ev, StrikeType.LESS, None, 6475, close)]
    for lo in range(6475, 6700, 25):
        out.append(spec(f"{ev}-B{lo + 12}", ev, StrikeType.BETWEEN, lo, lo + 24.9999, close))
    out.append(spec(f"{ev}-T6699.9999", ev, StrikeType.GREATER, 6699.9999, None, close))
    return out


def test_event_and_band() -> None:
    today, tomorrow = ladder("E1", 1_000), ladder("E2", 2_000)
    allm = today + tomorrow
    assert select_event(allm, now_ns=500) == "E1"
    assert select_event(allm, now_ns=1_000) == "E2"  # today's closed: roll to the next event
    assert select_event(allm, now_ns=900, min_time_left_ns=200) == "E2"
    assert select_event(allm, now_ns=3_000) is None
    picked = select_markets(allm, "E1", 6590.0, band=30, max_markets=10)
    assert picked[0].floor_strike == 6575  # the bucket holding the level comes first
    assert all(distance_to_strike(m, 6590.0) <= 30 for m in picked)
    assert {m.event_ticker for m in picked} == {"E1"}
    assert len(select_markets(allm, "E1", 6590.0, band=1000, max_markets=4)) == 4
    tails = select_markets(allm, "E1", 6460.0, band=20, max_markets=10)
    assert StrikeType.LESS in {m.strike_type for m in tails}  # 15 points from its boundary
    assert distance_to_strike(tails[0], 6460.0) == 15

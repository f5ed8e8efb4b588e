from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

from pmbot.core.market import FeeSchedule, FeeType, quadratic_fee
from pmbot.core.money import parse_count, parse_money, parse_price

FIX = Path(__file__).parents[1] / "fixtures" / "kalshi"


def test_recorded_taker_fill_fee() -> None:
    fill = json.loads((FIX / "fills__after_taker.json").read_text())["fills"]
    taker = [f for f in fill if f["is_taker"]]
    assert taker
    for f in taker:
        fee = quadratic_fee(
            parse_count(f["count_fp"]),
            parse_price(f["yes_price_dollars"]),
            FeeSchedule(),
            maker=False,
        )
        assert fee == parse_money(f["fee_cost"])
    assert quadratic_fee(100, 5200, FeeSchedule(), maker=False) == 17500  # 1 @ 0.52 -> 0.017500


def test_rounding_and_multipliers() -> None:
    assert quadratic_fee(100, 9900, FeeSchedule(), maker=False) == 700  # 0.000693 -> 0.0007
    half = FeeSchedule(multiplier=Fraction(1, 2))
    assert quadratic_fee(10000, 5000, half, maker=False) == 875_000  # 100 @ 0.50 x 0.035
    assert quadratic_fee(100, 5000, FeeSchedule(), maker=True) == 0  # plain quadratic: makers free
    mk = FeeSchedule(FeeType.QUADRATIC_WITH_MAKER_FEES)
    assert quadratic_fee(10000, 5000, mk, maker=True) == 437_500  # 0.0175 x 100 x 0.25
    assert quadratic_fee(0, 5000, FeeSchedule(), maker=False) == 0
    # fee is never below the exact value and never more than $0.0001 above it
    for c in (1, 37, 100, 1234):
        for p in (100, 2500, 5000, 7300, 9900):
            exact = Fraction(7, 100) * c * p * (10000 - p) / 10_000
            f = quadratic_fee(c, p, FeeSchedule(), maker=False)
            assert exact <= f < exact + 100

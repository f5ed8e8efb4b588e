"""Exact units: strict parsing, lossless round trips, grids, and every recorded value."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmbot.core.money import (
    ONE,
    PriceGrid,
    fmt_count,
    fmt_money,
    fmt_price,
    parse_count,
    parse_money,
    parse_price,
)
from pmbot.errors import UnitError

FIX = Path(__file__).parents[1] / "fixtures" / "kalshi"


def test_examples() -> None:
    assert parse_price("0.5200") == 5200
    assert parse_price("0.52") == 5200
    assert parse_price("1.0000") == ONE
    assert parse_count("10.00") == 1000
    assert parse_count("10") == 1000
    assert parse_count("0.01") == 1
    assert parse_money("0.017500") == 17500
    assert parse_money("-3.5") == -3_500_000
    assert fmt_price(5200) == "0.5200"
    assert fmt_count(1) == "0.01"
    assert fmt_money(17500) == "0.017500"
    assert fmt_money(17500, 4) == "0.0175"
    assert parse_price("0.52000000") == 5200  # trailing zeros beyond the unit are lossless


@pytest.mark.parametrize(
    "bad",
    [
        "",
        ".",
        "1.",
        "abc",
        "0.52a",
        "1e3",
        " 1",
        "1_0",
        "0.12345",
        "+1",
        "--1",
        "١٢",
        "0x10",
        "0.5.2",
    ],
)
def test_rejects_malformed(bad: str) -> None:
    with pytest.raises(UnitError):
        parse_price(bad)


def test_rejects_non_strings() -> None:
    with pytest.raises(UnitError):
        parse_price(0.52)  # type: ignore[arg-type]
    with pytest.raises(UnitError):
        parse_count(10)  # type: ignore[arg-type]


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_round_trip(v: int) -> None:
    assert parse_price(fmt_price(v)) == v
    assert parse_count(fmt_count(v)) == v
    assert parse_money(fmt_money(v)) == v


def test_grid_linear_cent() -> None:
    g = PriceGrid.linear_cent()
    assert len(g) == 101
    assert g.tick(5200) == 52
    assert g.valid_order_price(100) and not g.valid_order_price(0) and not g.valid_order_price(ONE)
    assert not g.on_grid(5250)
    with pytest.raises(UnitError):
        g.tick(5250)
    assert g.floor(5250) == 5200 and g.ceil(5250) == 5300
    assert g.symmetric()


def test_grid_tapered() -> None:
    g = PriceGrid.from_wire(
        [
            ("0.0000", "0.1000", "0.0010"),
            ("0.1000", "0.9000", "0.0100"),
            ("0.9000", "1.0000", "0.0010"),
        ]
    )
    assert g.on_grid(10) and g.on_grid(9990) and g.on_grid(5000) and not g.on_grid(5010)
    assert g.symmetric()
    assert g.min_order_price() == 10 and g.max_order_price() == 9990


_DOLLAR = re.compile(r"^-?\d+\.\d{1,6}$")


def _walk(obj: object, key: str = ""):
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _walk(v, k)
    elif isinstance(obj, list):
        for v in obj:
            yield from _walk(v, key)
    elif isinstance(obj, str):
        yield key, obj


def _fixture_values():
    for f in sorted(FIX.glob("*.json")):
        if f.name.endswith(".meta.json"):
            continue
        yield from _walk(json.loads(f.read_text()))
    for f in sorted(FIX.glob("*.jsonl")):
        for line in f.read_text().splitlines():
            if line.strip():
                yield from _walk(json.loads(line))


def test_every_recorded_price_count_and_fee_parses() -> None:
    n = 0
    for key, val in _fixture_values():
        if key.endswith("_fp") or key in {"fill_count", "remaining_count", "reduced_by"}:
            v = parse_count(val)
            assert fmt_count(v) == val or parse_count(fmt_count(v)) == v
            n += 1
        elif key.endswith("_dollars") and _DOLLAR.match(val):
            assert parse_money(val) == parse_money(fmt_money(parse_money(val)))
            if len(val.split(".")[1]) <= 4:
                parse_price(val)
            n += 1
        elif key in {
            "fee_cost",
            "average_fee_paid",
            "average_fill_price",
            "balance",
        } and _DOLLAR.match(val):
            parse_money(val)
            n += 1
    assert n > 1000  # the recorded set is large; make sure we really walked it

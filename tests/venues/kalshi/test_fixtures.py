"""Every recorded Kalshi body and frame decodes; a corrupted copy of each is a typed error."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Union, get_args, get_origin

import msgspec
import pytest

from pmbot.errors import (
    AuthError,
    NotFound,
    OrderRejected,
    ProtocolViolation,
    RateLimited,
    VenueError,
)
from pmbot.venues.kalshi import rest
from pmbot.venues.kalshi import wire as w

FX = Path(__file__).resolve().parents[2] / "fixtures" / "kalshi"

RESPONSE_TYPES: dict[str, type[Any]] = {
    "account__endpoint_costs": w.EndpointCosts,
    "account__limits": w.AccountLimits,
    "auth__balance_ok": w.Balance,
    "auth__balance_alt_host": w.Balance,
    "auth__skew_minus5s": w.Balance,
    "auth__skew_plus5s": w.Balance,
    "cleanup__stp_resting": w.CancelOrderResponse,
    "exchange__status": w.ExchangeStatus,
    "fills__after_taker": w.FillsPage,
    "markets__garbage_cursor": w.MarketsPage,
    "markets__high_temp": w.MarketsPage,
    "markets__page1": w.MarketsPage,
    "markets__page2": w.MarketsPage,
    "markets__page3": w.MarketsPage,
    "markets__status_closed": w.MarketsPage,
    "markets__status_open": w.MarketsPage,
    "markets__status_settled": w.MarketsPage,
    "markets__unauth_list": w.MarketsPage,
    "markets__single_filter_lastpage": w.MarketsPage,
    "markets__single": w.MarketResponse,
    "markets__unauth_single": w.MarketResponse,
    "orderbook__base": w.OrderbookResponse,
    "orders__cancel_v2": w.CancelOrderResponse,
    "orders__create_v2_maker": w.CreateOrderResponse,
    "orders__create_v2_taker_ioc": w.CreateOrderResponse,
    "orders__settlement_seed": w.CreateOrderResponse,
    "orders__stp_self_cross": w.CreateOrderResponse,
    "orders__stp_setup": w.CreateOrderResponse,
    "orders__get_after_create": w.OrderResponse,
    "orders__get_after_cancel": w.OrderResponse,
    "orders__stp_resting_after": w.OrderResponse,
    "orders__legacy_create": w.OrderResponse,
    "orders__legacy_cancel": w.LegacyCancelResponse,
    "portfolio__orders_list": w.OrdersPage,
    "portfolio__positions": w.PositionsPage,
    "series__fee_changes": w.FeeChanges,
    "settlements__end_of_session": w.SettlementsPage,
    "settlements__page": w.SettlementsPage,
    "trades__public_recorded": w.TradesPage,
}


def _meta(name: str) -> dict[str, Any]:
    p = FX / f"{name}.meta.json"
    return json.loads(p.read_text()) if p.exists() else {"status": 200}


BODIES = sorted(p.stem for p in FX.glob("*.json") if not p.name.endswith(".meta.json"))
OK_BODIES = [n for n in BODIES if _meta(n).get("status", 200) < 400]
ERR_BODIES = [n for n in BODIES if _meta(n).get("status", 200) >= 400]
FRAMES = [
    (p.name, i, line)
    for p in sorted(FX.glob("ws__*.jsonl"))
    for i, line in enumerate(p.read_bytes().splitlines())
    if line.strip()
]


def test_every_body_is_classified() -> None:
    assert set(OK_BODIES) == set(RESPONSE_TYPES), set(OK_BODIES) ^ set(RESPONSE_TYPES)
    assert len(ERR_BODIES) >= 10 and len(FRAMES) >= 10


@pytest.mark.parametrize("name", OK_BODIES)
def test_body_decodes(name: str) -> None:
    w.decode(RESPONSE_TYPES[name], (FX / f"{name}.json").read_bytes())


@pytest.mark.parametrize("name,i,line", FRAMES, ids=[f"{n}:{i}" for n, i, _ in FRAMES])
def test_frame_decodes(name: str, i: int, line: bytes) -> None:
    f = w.decode_frame(line)
    assert not isinstance(f, w.UnknownFrame)


# ---- corruption --------------------------------------------------------------------------
def _struct_of(tp: Any) -> Any:
    """The Struct type inside an annotation (X, X | None, list[X]), else None."""
    if isinstance(tp, type) and issubclass(tp, msgspec.Struct):
        return tp
    if get_origin(tp) in (list, Union) or type(tp).__name__ == "UnionType":
        for a in get_args(tp):
            s = _struct_of(a)
            if s is not None:
                return s
    return None


def _find(tp: type[Any], obj: Any, want: str) -> tuple[dict[str, Any], str] | None:
    """Locate (container, key) of a required field ('required') or a str-only field ('str')."""
    if not isinstance(obj, dict):
        return None
    fields = msgspec.structs.fields(tp)
    for f in fields:
        if f.encode_name not in obj:
            continue
        if want == "required" and f.required:
            return obj, f.encode_name
        if want == "str" and (f.type is str or set(get_args(f.type)) == {str, type(None)}):
            return obj, f.encode_name
        if want == "bool" and f.type is bool:
            return obj, f.encode_name
        if want == "any":
            return obj, f.encode_name
        if want == "levels" and "tuple[str, str]" in str(f.type) and obj[f.encode_name]:
            return obj, f.encode_name
    for f in fields:
        sub = _struct_of(f.type)
        v = obj.get(f.encode_name)
        if sub is None or v is None:
            continue
        for item in v if isinstance(v, list) else [v]:
            found = _find(sub, item, want)
            if found:
                return found
    return None


def _corruptions(tp: type[Any], data: Any) -> list[tuple[str, Any]]:
    out = []
    for want in ("required", "str"):
        d = copy.deepcopy(data)
        found = _find(tp, d, want)
        if found is None and want == "str":  # nothing string-typed: a string where a bool belongs
            found = (
                _find(tp, d, want := "bool")
                or _find(tp, d, want := "levels")
                or _find(tp, d, want := "any")
            )
        assert found, f"no {want} field to corrupt in {tp.__name__}"
        obj, key = found
        if want == "required":
            del obj[key]
        else:
            obj[key] = {"str": 12345, "bool": "true", "levels": [[0.47, "3.00"]], "any": 12345}[
                want
            ]
        out.append((f"{want}:{key}", d))
    return out


@pytest.mark.parametrize("name", OK_BODIES)
def test_corrupted_body_is_protocol_violation(name: str) -> None:
    tp = RESPONSE_TYPES[name]
    data = json.loads((FX / f"{name}.json").read_bytes())
    for label, bad in _corruptions(tp, data):
        with pytest.raises(ProtocolViolation) as ei:
            w.decode(tp, json.dumps(bad).encode())
        assert label.split(":", 1)[1] in str(ei.value), (label, str(ei.value))


@pytest.mark.parametrize("name,i,line", FRAMES, ids=[f"{n}:{i}" for n, i, _ in FRAMES])
def test_corrupted_frame_is_protocol_violation(name: str, i: int, line: bytes) -> None:
    tp = type(w.decode_frame(line))
    data = json.loads(line)
    for label, bad in _corruptions(tp, data):
        with pytest.raises(ProtocolViolation) as ei:
            w.decode_frame(json.dumps(bad).encode())
        assert label.split(":", 1)[1] in str(ei.value)


# ---- errors ------------------------------------------------------------------------------
EXPECTED_ERRORS: dict[str, tuple[type[VenueError], str | None]] = {
    "auth__bad_signature": (AuthError, "authentication_error"),
    "auth__unknown_key_id": (AuthError, "authentication_error"),
    "auth__missing_signature_header": (AuthError, "signature_is_missing_from_headers"),
    "auth__skew_minus30s": (AuthError, "header_timestamp_expired"),
    "auth__skew_minus5min": (AuthError, "header_timestamp_expired"),
    "auth__skew_plus5min": (AuthError, "header_timestamp_expired"),
    "cleanup__leftover_0": (NotFound, "not_found"),
    "cleanup__leftover_1": (NotFound, "not_found"),
    "cleanup__leftover_2": (NotFound, "not_found"),
    "orders__cancel_already_canceled": (NotFound, "not_found"),
    "orders__cancel_executed": (NotFound, "not_found"),
    "orders__cancel_unknown_id": (NotFound, "not_found"),
    "orders__duplicate_client_order_id": (OrderRejected, "order_already_exists"),
    "orders__reuse_canceled_client_id": (OrderRejected, "order_already_exists"),
    "orders__insufficient_balance": (OrderRejected, "insufficient_balance"),
    "orders__invalid_price_structure": (OrderRejected, "invalid_price"),
    "orders__numeric_field_types": (OrderRejected, "bad_request"),
    "orders__post_only_cross": (OrderRejected, "post_only_cross"),  # server: invalid_order
    "markets__limit_over_max": (VenueError, None),
}


def _request_for(meta: dict[str, Any]) -> rest.Request:
    write = meta["method"] != "GET"
    return rest.Request(meta["method"], meta["path"], meta["path"], None, write=write)


@pytest.mark.parametrize("name", ERR_BODIES)
def test_error_body_typed(name: str) -> None:
    meta = _meta(name)
    cls, code = EXPECTED_ERRORS[name]
    err = rest.error_from_body(
        meta["status"], (FX / f"{name}.json").read_bytes(), request=_request_for(meta)
    )
    assert type(err) is cls
    assert err.code == code and err.status == meta["status"]
    assert err.message


def test_error_details_and_shapes() -> None:
    e = rest.error_from_body(401, (FX / "auth__bad_signature.json").read_bytes())
    assert e.details == "INCORRECT_API_KEY_SIGNATURE"
    e = rest.error_from_body(400, (FX / "orders__numeric_field_types.json").read_bytes())
    assert e.code == "bad_request" and "CreateOrderV2Request.count" in (e.details or "")
    req = rest.Request(
        "POST", "/portfolio/events/orders", "/portfolio/events/orders", None, write=True
    )
    e = rest.error_from_body(400, (FX / "orders__post_only_cross.json").read_bytes(), request=req)
    assert (
        e.code == "post_only_cross"
        and e.raw_code == "invalid_order"
        and e.details == "post only cross"
    )
    e = rest.error_from_body(
        400,
        b'{"error":{"code":"market_closed","message":"market closed","details":"MARKET_INACTIVE"}}',
        request=req,
    )
    assert e.code == "market_closed"
    e = rest.error_from_body(400, (FX / "markets__limit_over_max.json").read_bytes())
    assert "Parameter validation failed" in e.message
    e = rest.error_from_body(429, b'{"error": "too many requests"}')
    assert isinstance(e, RateLimited) and "too many requests" in e.message
    e = rest.error_from_body(
        410,
        b'{"error":{"code":"deprecated_v1_order_endpoint","message":"Please switch to the V2 endpoints"}}',
        request=rest.Request("POST", "/portfolio/orders", "/portfolio/orders", None, write=True),
    )
    assert isinstance(e, OrderRejected) and e.code == "deprecated_v1_order_endpoint"


@pytest.mark.parametrize("name", ERR_BODIES)
def test_corrupted_error_body_still_typed(name: str) -> None:
    meta = _meta(name)
    cls, _ = EXPECTED_ERRORS[name]
    data = json.loads((FX / f"{name}.json").read_bytes())
    inner = data.get("error", data)
    inner.pop("code", None)
    for k in list(inner):
        inner[k] = 7
    for body in (json.dumps(data).encode(), b"<html>502</html>", b""):
        err = rest.error_from_body(meta["status"], body, request=_request_for(meta))
        assert type(err) is cls


def test_invalid_utf8_is_a_protocol_violation() -> None:
    """Regression (decoder fuzzing): msgspec raises UnicodeDecodeError on invalid UTF-8, which
    escaped every decoder untyped."""
    from pmbot.errors import ProtocolViolation, VenueError
    from pmbot.venues.kalshi.stream import KalshiStream

    bad = b'{"type":"\xbf\xff","sid":1}'
    with pytest.raises(ProtocolViolation):
        w.decode_frame(bad)
    with pytest.raises(ProtocolViolation):
        w.decode(w.MarketsPage, bad)
    assert isinstance(rest.error_from_body(400, bad), VenueError)
    s = KalshiStream(lambda e: None, use_yes_price=True)
    s.receive(b'{"type":"orderbook_delta","sid":1,"seq":2,"msg":{"x":"\xff"}}', 1)
    s.receive(bad, 1)
    assert s.stats.bad_frames >= 1

"""Polymarket hot paths, each against a baseline measured in the same run.

1. Sign one CLOB V2 limit order (amounts, EIP-712 hash, ECDSA): ours (direct keccak of the
   fixed-size struct + libsecp256k1) vs py-clob-client-v2's OrderBuilder.build_order (the
   SDK's own path: float rounding, eth-account's generic EIP-712 encoder). Both use the same
   ECDSA backend (eth-keys picks coincurve when installed), so the ratio is the hashing path.
2. One WS `price_change` frame (a level on both tokens) -> BinaryBook: ours (msgspec typed
   decode + exact ints + BinaryBook delta) vs json.loads into dicts and a dict-of-Decimal
   level map. The SDKs ship no WebSocket client, so the baseline is the usual hand-rolled one.

    python benchmarks/polymarket.py [--json] [--repeat N]
"""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from py_clob_client_v2.clob_types import CreateOrderOptions, OrderArgs
from py_clob_client_v2.order_builder.builder import OrderBuilder
from py_clob_client_v2.signer import Signer

from _bench import Reporter, median_ns_per_op, parse_args
from pmbot.venues.polymarket.convert import MarketInfo
from pmbot.venues.polymarket.signing import OrderSigner
from pmbot.venues.polymarket.stream import MarketStream

KEY = "0x" + "4c" * 32
YES = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
NO = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
CID = "0x" + "ab" * 32


def bench_sign(rep: Reporter, repeat: int) -> None:
    ours = OrderSigner(KEY)
    salt = iter(range(10**9))

    def mine() -> None:
        ours.limit(
            token_id=YES,
            side=0,
            price=5200,
            size=10_000,
            tick="0.01",
            salt=next(salt),
            timestamp_ms=1_700_000_000_000,
        )

    sdk = OrderBuilder(Signer(KEY, 137))
    args = OrderArgs(token_id=YES, price=0.52, size=100.0, side="BUY")
    opts = CreateOrderOptions(tick_size="0.01", neg_risk=False)

    def theirs() -> None:
        sdk.build_order(args, opts)

    a = median_ns_per_op(mine, 1, repeat, 0.2) / 1000
    b = median_ns_per_op(theirs, 1, repeat, 0.2) / 1000
    rep.figure("polymarket.sign_order", a, "us", "py-clob-client-v2 OrderBuilder.build_order", b)


def _frames() -> list[bytes]:
    out = []
    for size in ("150", "275.5"):
        out.append(
            json.dumps(
                {
                    "event_type": "price_change",
                    "market": CID,
                    "timestamp": "1700000000000",
                    "price_changes": [
                        {
                            "asset_id": YES,
                            "price": "0.4",
                            "size": size,
                            "side": "BUY",
                            "hash": "0xab",
                            "best_bid": "0.4",
                            "best_ask": "0.6",
                        },
                        {
                            "asset_id": NO,
                            "price": "0.6",
                            "size": size,
                            "side": "SELL",
                            "hash": "0xab",
                            "best_bid": "0.4",
                            "best_ask": "0.6",
                        },
                    ],
                }
            ).encode()
        )
    return out


def _snapshot() -> bytes:
    return json.dumps(
        {
            "event_type": "book",
            "market": CID,
            "asset_id": YES,
            "timestamp": "1700000000000",
            "hash": "x",
            "bids": [{"price": f"0.{p:02d}", "size": "100"} for p in range(30, 41)],
            "asks": [{"price": f"0.{p:02d}", "size": "100"} for p in range(70, 59, -1)],
        }
    ).encode()


def bench_frame(rep: Reporter, repeat: int) -> None:
    frames = _frames()
    ms = MarketStream([MarketInfo(CID, YES, NO, "0.01")])
    ms.on_frame(_snapshot(), 0)
    assert ms.fresh[CID]
    f0, f1 = frames

    def mine() -> None:
        ms.on_frame(f0, 1)
        ms.on_frame(f1, 2)

    books: dict[str, dict[str, dict[Decimal, Decimal]]] = {
        YES: {"BUY": {}, "SELL": {}},
        NO: {"BUY": {}, "SELL": {}},
    }

    def theirs() -> None:
        for f in (f0, f1):
            msg = json.loads(f)
            for pc in msg["price_changes"]:
                lv = books[pc["asset_id"]][pc["side"]]
                size = Decimal(pc["size"])
                if size:
                    lv[Decimal(pc["price"])] = size
                else:
                    lv.pop(Decimal(pc["price"]), None)

    a = median_ns_per_op(mine, 2, repeat, 0.2)
    assert ms.fresh[CID], "the benchmark frames must keep the book consistent"
    b = median_ns_per_op(theirs, 2, repeat, 0.2)
    rep.figure("polymarket.price_change_to_book", a, "ns", "json.loads + Decimal dict levels", b)


def main() -> None:
    args = parse_args(__doc__ or "")
    rep = Reporter(args.json)
    bench_sign(rep, args.repeat)
    bench_frame(rep, args.repeat)


if __name__ == "__main__":
    main()

"""Kalshi WS hot path: raw orderbook_delta frame bytes -> decoded -> applied to the book.

Figures (ns per frame unless noted), each against a baseline measured in the same run:
* direct fast path: KalshiStream (msgspec decode, per-sid seq check, price-string -> tick cache)
  applying in place to the BinaryBook shared with TradingState;
* event path: the same, but each delta becomes a BookDelta applied by TradingState.apply;
* baseline for both: json.loads + a dict book keyed by price string with float sizes;
* one request signature (RSA-2048 PSS/SHA-256), baseline PKCS#1 v1.5 with the same key.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from _bench import Reporter, median_ns_per_op, parse_args
from pmbot.core.market import FeeSchedule, MarketSpec, StrikeType
from pmbot.core.money import PriceGrid
from pmbot.core.state import TradingState
from pmbot.venues.kalshi.signing import KalshiSigner
from pmbot.venues.kalshi.stream import BOOK, KalshiStream

T = "KXINXU-26NOV24H1600-T7649.9999"
N = 2000


def frames() -> list[bytes]:
    out = []
    for i in range(N):
        side = "yes" if i % 4 < 2 else "no"
        cents = 30 + (i // 4) % 20 if side == "yes" else 50 + (i // 4) % 20
        d = "5.00" if i % 2 == 0 else "-5.00"
        out.append(
            json.dumps(
                {
                    "type": "orderbook_delta",
                    "sid": 1,
                    "seq": i + 2,
                    "msg": {
                        "market_ticker": T,
                        "market_id": "f5ed38e2-0991-4c8f-817e-08c4fd9cbfdb",
                        "price_dollars": f"0.{cents:02d}00",
                        "delta_fp": d,
                        "side": side,
                        "ts": "2026-11-24T15:31:29.957081Z",
                        "ts_ms": 1795000000000 + i,
                    },
                },
                separators=(",", ":"),
            ).encode()
        )
    return out


def rig(direct: bool) -> tuple[KalshiStream, TradingState]:
    state = TradingState()
    state.add_market(
        MarketSpec(
            T,
            "E",
            "KXINXU",
            StrikeType.GREATER,
            7650.0,
            None,
            PriceGrid.linear_cent(),
            FeeSchedule(),
            0,
        )
    )
    s = KalshiStream(
        state.apply,
        use_yes_price=True,
        books=state.books if direct else None,
        on_book_change=(lambda t, ts: None) if direct else None,
    )
    s.want(BOOK, [T])
    s.connected(0)
    s.data_to_send()
    s.receive(b'{"type":"subscribed","id":1,"msg":{"channel":"orderbook_delta","sid":1}}', 0)
    s.receive(
        json.dumps(
            {
                "type": "orderbook_snapshot",
                "sid": 1,
                "seq": 1,
                "msg": {
                    "market_ticker": T,
                    "yes_dollars_fp": [[f"0.{c:02d}00", "10.00"] for c in range(30, 50)],
                    "no_dollars_fp": [[f"0.{c:02d}00", "10.00"] for c in range(50, 70)],
                },
            }
        ).encode(),
        0,
    )
    assert state.book_fresh[T]
    return s, state


def main() -> None:
    args = parse_args(__doc__ or "")
    rep = Reporter(args.json)
    fs = frames()

    def run_stream(direct: bool) -> float:
        s, state = rig(direct)
        sub = s._subs[1]
        recv = s.receive

        def go() -> None:
            sub.last_seq = 1
            for f in fs:
                recv(f, 1)

        ns = median_ns_per_op(go, N, args.repeat)
        assert state.book_fresh[T] and s.stats.gaps == 0 and s.stats.duplicates == 0, s.stats
        assert state.books[T].size_at(True, 3000) == 1000  # +5 -5 pairs leave the snapshot intact
        return ns

    books: dict[str, dict[str, dict[str, float]]] = {T: {"yes": {}, "no": {}}}
    loads = json.loads

    def baseline() -> None:
        for f in fs:
            d = loads(f)
            m = d["msg"]
            lv = books[m["market_ticker"]][m["side"]]
            p = m["price_dollars"]
            q = lv.get(p, 0.0) + float(m["delta_fp"])
            if q:
                lv[p] = q
            else:
                del lv[p]

    base = median_ns_per_op(baseline, N, args.repeat)
    direct = run_stream(True)
    event = run_stream(False)
    rep.figure(
        "kalshi_ws delta frame -> book (direct fast path)",
        direct,
        "ns/frame",
        "json.loads + dict book",
        base,
    )
    rep.figure(
        "kalshi_ws delta frame -> BookDelta -> TradingState",
        event,
        "ns/frame",
        "json.loads + dict book",
        base,
    )

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = KalshiSigner("kid", key)
    msg = b"1703123456789GET/trade-api/v2/portfolio/balance"
    sig_ns = median_ns_per_op(
        lambda: signer.headers(1703123456789, "GET", "/trade-api/v2/portfolio/balance"),
        1,
        args.repeat,
        0.1,
    )
    pkcs_ns = median_ns_per_op(
        lambda: key.sign(msg, padding.PKCS1v15(), hashes.SHA256()), 1, args.repeat, 0.1
    )
    rep.figure(
        "kalshi request signature (RSA-2048 PSS, headers)",
        sig_ns / 1000,
        "us/request",
        "RSA-2048 PKCS#1 v1.5 sign",
        pkcs_ns / 1000,
    )


if __name__ == "__main__":
    main()

"""Strategy inputs: `build_inputs`, run on every decision of the live Kalshi bot.

A long run accumulates markets: every event it quotes adds its markets to TradingState, and
a restart's ledger recovery loads every ticker ever traded. The account-wide figures a
decision needs (exposure, realised P&L and fees for the daily loss) are kept per positions
version, so a decision walks the event's markets and the open positions only.

Figures (baseline measured in the same run): `build_inputs` for a 31-market event (12
quotable, 20 live orders) with 0, 930 (30 days of KXINX) and 7,750 settled markets from
earlier events, vs the same call when every position must be walked again (the positions
changed since the last decision: what every decision cost before the aggregates were kept).
"""

from __future__ import annotations

import sys
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _bench import Reporter, median_ns_per_op, parse_args
from pmbot.app_parts import Accounting, build_inputs
from pmbot.core.orders import LiveOrder, OrderStatus, Side
from pmbot.core.positions import Position
from pmbot.core.state import TradingState
from pmbot.strategy.synthetic import books_around, ladder_fair, ladder_markets

S = 10**9
NOW = 1_795_600_000 * S
EVENT = "KXINX-26NOV25H1600"


def app_with(old_markets: int) -> types.SimpleNamespace:
    st = TradingState()
    ms = ladder_markets(31, 6000.0, 25.0, event=EVENT, close_ts_ns=NOW + 3600 * S)
    for m in ms:
        st.add_market(m)
    for t, b in books_around(ms, ladder_fair(ms, 6000.0, 60.0), 200).items():
        st.books[t] = b
        st.book_fresh[t] = True
    for i, m in enumerate(ms[9:19]):
        for j, side in enumerate((Side.BID, Side.ASK)):
            o = LiveOrder(
                f"c{i}{j}",
                m.ticker,
                side,
                4000 + 100 * j,
                1000,
                1000,
                OrderStatus.RESTING,
                order_id=f"o{i}{j}",
                created_ns=NOW,
            )
            st.register_order(o)
    for k in range(old_markets):  # earlier days' markets, settled: flat, P&L and fees kept
        p = Position(f"KXINX-OLD{k // 31:04d}-B{k % 31}")
        p.realized, p.fees, p.volume = 1234, 56, 1000
        st.positions[p.ticker] = p
    st.positions_changed()
    st.index_level, st.index_ts_ns = 6000.0, NOW
    return types.SimpleNamespace(
        state=st,
        event_markets=list(ms),
        quotable=list(ms[9:21]),
        event_ticker=EVENT,
        fair=ladder_fair(ms, 6000.0, 60.0, NOW),
        acct=Accounting(),
        ledger=None,
    )


def main() -> None:
    args = parse_args(__doc__ or "")
    rep = Reporter(args.json)
    for old in (0, 31 * 30, 31 * 250):
        app = app_with(old)
        st = app.state
        ours = median_ns_per_op(lambda app=app: build_inputs(app, NOW), 1, args.repeat) / 1e3

        def walk_all(app: types.SimpleNamespace = app, st: TradingState = st) -> None:
            st.positions_changed()
            build_inputs(app, NOW)

        base = median_ns_per_op(walk_all, 1, args.repeat) / 1e3
        rep.figure(
            f"build_inputs_{old}_earlier_markets",
            ours,
            "us/decision",
            "every position walked",
            base,
        )


if __name__ == "__main__":
    main()

"""`pmbot run --record DIR`: the live stream in the backtester's record format.

`LiveRecorder` sits on the app's event sink and writes, through `backtest.recorder.Recorder`
(the format `pmbot backtest` replays with `data.kind = "recording"`):
* index ticks, book snapshots and deltas of every market the bot has loaded (a market is
  registered, with its full MarketSpec, the first time one of its events arrives), as the
  market WITHOUT us: a replay adds its own orders, so deltas our orders caused (the venue
  tags them with our client_order_id) are left out and a snapshot is recorded minus the
  size of our orders resting in it;
* public trades from the venue's `trade` channel (subscribed for all markets; trades of
  markets the bot never loaded are skipped);
* our own fills, which the tape has no row kind for, to `fills.jsonl` in the same
  directory (one JSON object per fill, integer units) so a replay can be checked against
  what really happened.
Timestamps are the events' own (simulated time on the simulator).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import IO, Any

from pmbot.backtest.recorder import Recorder
from pmbot.core import events as ev
from pmbot.core.money import ONE
from pmbot.core.orders import OrderStatus, Side

__all__ = ["LiveRecorder"]

log = logging.getLogger("pmbot.record")


class LiveRecorder:
    """Constructor does no I/O; `attach(app)` opens the files and subscribes to trades."""

    def __init__(self, path: str | Path, source: str = "pmbot run") -> None:
        self.path = Path(path)
        self.source = source
        self.rec: Recorder | None = None
        self._fills: IO[str] | None = None
        self._markets: dict[str, Any] = {}
        self._clock: Any = None
        self.trades = 0
        self.skipped_own = 0  # book deltas our own orders caused
        self._state: Any = None
        self.fills = 0

    async def attach(self, app: Any) -> None:
        from pmbot.venues.kalshi.stream import TRADE
        from pmbot.venues.kalshi.wire import TradeFrame

        self._markets = app.state.markets
        self._state = app.state
        self._clock = app.clock
        self._all = app
        self.rec = Recorder(self.path, source=self.source)
        self._fills = open(self.path / "fills.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        venue = app.venue
        if venue is not None:
            prev = venue.stream.on_market_data  # keep whoever else listens

            def on_market_data(frame: Any) -> None:
                if isinstance(frame, TradeFrame):
                    self.on_trade(frame.msg, app.clock.now_ns())
                if prev is not None:
                    prev(frame)

            venue.stream.on_market_data = on_market_data
            await venue.ws.want(TRADE)
        log.info("recording path=%s", self.path)

    def _spec(self, ticker: str) -> Any:
        m = self._markets.get(ticker)
        if m is None:
            m = next((s for s in getattr(self._all, "all_markets", ()) if s.ticker == ticker), None)
        return m

    def _known(self, ticker: str) -> bool:
        assert self.rec is not None
        if ticker in self.rec._idx:
            return True
        spec = self._spec(ticker)
        if spec is None:
            return False
        self.rec.market(spec)
        return True

    def on_event(self, e: ev.Event) -> None:
        rec = self.rec
        if rec is None:
            return
        if isinstance(e, ev.IndexTick):
            rec.record(e)
        elif isinstance(e, ev.BookSnapshot):
            if self._known(e.ticker):
                own_yes, own_no = self._own_sizes(e.ticker)
                rec.snapshot(self._now(e.ts_ns), e.ticker, e.yes, e.no, own_yes, own_no)
        elif isinstance(e, ev.BookDelta):
            if e.client_order_id is not None:
                self.skipped_own += 1  # our order moved the book: a replay adds its own
            elif self._known(e.ticker):
                rec.delta(self._now(e.ts_ns), e.ticker, e.is_yes, e.price, e.delta)
        elif isinstance(e, ev.Fill) and self._fills is not None:
            self.fills += 1
            self._fills.write(
                json.dumps(
                    {
                        "ts_ns": e.ts_ns,
                        "ticker": e.ticker,
                        "side": e.side.value,
                        "price": e.price,
                        "qty": e.qty,
                        "fee": e.fee,
                        "is_taker": e.is_taker,
                        "trade_id": e.trade_id,
                        "order_id": e.order_id,
                    },
                    sort_keys=True,
                )
                + "\n"
            )

    def _own_sizes(self, ticker: str) -> tuple[dict[int, int], dict[int, int]]:
        """Our size resting at each level of the book (YES bids; NO bids at NO-leg prices):
        the orders the venue has confirmed (a pending create is not in its snapshot yet)."""
        yes: dict[int, int] = {}
        no: dict[int, int] = {}
        if self._state is None:
            return yes, no
        for o in self._state.live_orders(ticker):
            if o.order_id and o.status in (OrderStatus.RESTING, OrderStatus.CANCEL_PENDING):
                if o.side is Side.BID:
                    yes[o.price] = yes.get(o.price, 0) + o.remaining
                else:  # selling YES rests as a NO bid at 1 - price
                    no[ONE - o.price] = no.get(ONE - o.price, 0) + o.remaining
        return yes, no

    def _now(self, ts_ns: int) -> int:
        """Market time of a book event: the venue stamps stream frames with the transport's
        (real) clock, which differs from the market's on an accelerated simulator."""
        clock = self._clock
        return ts_ns if clock is None else clock.now_ns()

    def on_trade(self, msg: Any, now_ns: int) -> None:
        from pmbot.venues.kalshi import convert

        rec = self.rec
        if rec is None or not self._known(msg.market_ticker):
            return
        try:
            price = convert._price(msg.yes_price_dollars, "trade.yes_price")
            qty = convert._count(msg.count_fp, "trade.count")
        except Exception as err:  # a bad frame must not stop the bot
            log.warning("trade not recorded error=%s", err)
            return
        buys_yes = (
            msg.taker_outcome_side == "yes"
            if msg.taker_outcome_side
            else msg.taker_book_side == "bid"
        )
        ts = msg.ts_ms * 1_000_000 if msg.ts_ms else now_ns
        rec.trade(ts, msg.market_ticker, price, qty, buys_yes)
        self.trades += 1

    async def aclose(self) -> None:
        if self.rec is not None:
            self.rec.close()
            self.rec = None
        if self._fills is not None:
            self._fills.close()
            self._fills = None
        log.info(
            "recording closed path=%s trades=%d fills=%d own_deltas_left_out=%d",
            self.path,
            self.trades,
            self.fills,
            self.skipped_own,
        )

"""Counterparty flow for the Polymarket simulator: a house account that rests and takes.

The house trades without signatures (it lives inside the simulator) through the same
engine, fan-out and trade lifecycle as signed orders, so a bot quoting on the simulator
gets fills that walk MATCHED -> MINED -> CONFIRMED (or FAILED under fault injection).
`run_flow` sends marketable FAK orders at a seeded random rate; `python -m
pmbot.sim.polymarket_house` serves a demo market with flow on a fixed port.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import random
from typing import TYPE_CHECKING

from pmbot.core.money import ONE, Price
from pmbot.sim.polymarket_engine import EngineOrder, MatchError

if TYPE_CHECKING:
    from pmbot.sim.polymarket_server import PolySim

__all__ = ["HOUSE_ADDRESS", "HOUSE_KEY", "House", "main"]

HOUSE_KEY = "house"
HOUSE_ADDRESS = "0x" + "ee" * 20
log = logging.getLogger("pmbot.sim.polymarket")


class House:
    def __init__(self, sim: PolySim, shares: int = 10**15) -> None:
        self.sim = sim
        for m in sim.markets.values():
            for t in (m.yes_token, m.no_token):
                sim.accounts.fund(HOUSE_ADDRESS, token=t, shares=shares)

    async def order(
        self, token_id: str, side: str, price: Price, size_e6: int, order_type: str = "GTC"
    ) -> EngineOrder | None:
        """Place a house order; None when the engine refuses it (e.g. a FAK with no match)."""
        s = self.sim
        book, is_yes = s.engine.token(token_id)
        o = EngineOrder(
            id=s.next_id("0xhouse"),
            owner=HOUSE_KEY,
            maker_address=HOUSE_ADDRESS,
            market=book.cid,
            token_id=token_id,
            is_yes=is_yes,
            side=side,
            price=price,
            original=size_e6,
            order_type=order_type,
            created_ms=s.now_ms(),
        )
        try:
            res = s.engine.place(o)
        except MatchError:
            return None
        await s._trading._after_place(res, s.markets[book.cid])
        return o

    async def requote(
        self, cid: str, mid: Price, *, levels: int = 5, half_spread: Price = 200, size: int = 100
    ) -> None:
        """Replace the house's resting ladder in one market around `mid` (YES price)."""
        s = self.sim
        book = s.engine.books[cid]
        mine = [o.id for o in s.engine.live(HOUSE_KEY) if o.market == cid]
        if mine:
            await s._trading.cancel_ids(HOUSE_KEY, mine)
        tick = book.tick
        bid = (mid - half_spread) // tick * tick
        ask = -(-(mid + half_spread) // tick) * tick
        for i in range(levels):
            b, a = bid - i * tick, ask + i * tick
            if tick <= b < ONE:
                await self.order(book.yes_token, "BUY", b, size * 1_000_000)
            if 0 < a <= ONE - tick:
                await self.order(book.no_token, "BUY", ONE - a, size * 1_000_000)

    async def run_maker(
        self,
        rng: random.Random,
        every: float = 2.0,
        step: Price = 50,
        start: Price = 5000,
        **kw: int,
    ) -> None:
        """Keep a resting ladder in every market around a random-walking true price, so a
        book exists (for the bot's micro-price) however much the taker flow eats."""
        mids = {cid: start for cid in self.sim.engine.books}
        while True:
            for cid in list(mids):
                m = mids[cid] + rng.choice((-step, 0, step))
                mids[cid] = min(max(m, 1000), ONE - 1000)
                await self.requote(cid, mids[cid], **kw)
            await self.sim.clock.sleep(every)

    async def run_flow(
        self, rng: random.Random, rate_hz: float = 1.0, max_shares: int = 20
    ) -> None:
        """Marketable FAK orders on random markets and sides at a Poisson rate."""
        while True:
            await self.sim.clock.sleep(rng.expovariate(rate_hz))
            book = rng.choice(list(self.sim.engine.books.values()))
            buy_yes = rng.random() < 0.5
            size = rng.randint(5, max_shares) * 1_000_000
            tick = book.tick
            if buy_yes:  # lift YES offers up to 0.99
                await self.order(book.yes_token, "BUY", ONE - tick, size, "FAK")
            else:  # hit YES bids by buying NO up to 0.99
                await self.order(book.no_token, "BUY", ONE - tick, size, "FAK")


def main(argv: list[str] | None = None) -> int:
    """Serve the simulator with one demo market, a seeded book and taker flow."""
    from pmbot.sim.polymarket_server import PolySim
    from pmbot.sim.polymarket_views import SimMarket

    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--flow", type=float, default=0.5, help="house taker orders per second")
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO)

    async def serve() -> None:
        m = SimMarket(
            "0x" + "ab" * 32, "1001", "1002", question="Demo market?", slug="demo", fee_rate_bps=400
        )
        sim = PolySim([m])
        house = House(sim)
        url = await sim.start(port=a.port)
        for i in range(1, 6):
            await house.order(m.yes_token, "BUY", 5000 - 100 * i, 100_000_000)
            await house.order(m.no_token, "BUY", 5000 - 100 * i, 100_000_000)
        print(
            f"polymarket simulator on {url} (ws {url.replace('http', 'ws')}/ws/market, gamma {url}/gamma)",
            flush=True,
        )
        try:
            await house.run_flow(random.Random(a.seed), a.flow)
        finally:
            await sim.aclose()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Found in review (failed before its fix): two balance reads of one token overlap (the reconciliation's
`get_positions` and the 0.5 s `refresh_holdings` task run concurrently in the app's
TaskGroup). The read started first but answered last overwrites `_held` with the older
balance, after the newer read already retired the mined SELL fill from `sold_unread`: the
shares sold count as ours again, and a SELL of them is refused by the venue."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from pmbot.core.orders import Side
from pmbot.venues.polymarket.convert import MarketInfo
from pmbot.venues.polymarket.port import PolymarketPort
from pmbot.venues.polymarket.stream import UserStream

CID, YES, NO = "0x" + "ab" * 32, "111", "222"
E6 = 1_000_000


class SlowHttp:
    """Token balances as the chain holds them when the read is served; the first read is
    served at once but its answer is delivered only when `release` is set."""

    def __init__(self) -> None:
        self.chain = {YES: 10 * E6, NO: 0}
        self.release = asyncio.Event()
        self.calls = 0

    async def balance(self, asset_type: str = "COLLATERAL", token_id: str = "", *, update=False):
        self.calls += 1
        bal = self.chain[token_id]  # served now
        if self.calls == 1:
            await self.release.wait()  # ... answered late
        return bal


async def test_an_older_read_answering_last_wins() -> None:
    m = MarketInfo(CID, YES, NO)
    stream = UserStream([m], owner="me")
    http = SlowHttp()
    venue = SimpleNamespace(http=http, markets={CID: m}, user_feed=SimpleNamespace(stream=stream))
    port = PolymarketPort(venue)  # type: ignore[arg-type]
    port._held[YES] = 10 * E6
    # our SELL of 4 YES matched (not mined): 6 may still be sold
    stream.moves[("t1", "o1")] = (YES, -4 * E6)
    stream.seen[("t1", "o1")] = "MATCHED"
    assert port.sellable(CID, Side.ASK) == 600

    r1 = asyncio.create_task(port._read_token(YES))  # the reconciliation's read
    await asyncio.sleep(0)
    # the trade is mined: the chain moves 4 YES away
    stream.seen[("t1", "o1")] = "MINED"
    http.chain[YES] = 6 * E6
    await port._read_token(YES, update=True)  # refresh_holdings' read, answered first
    assert port.sellable(CID, Side.ASK) == 600
    http.release.set()
    await r1  # the older answer (10) lands last
    assert port.sellable(CID, Side.ASK) == 600

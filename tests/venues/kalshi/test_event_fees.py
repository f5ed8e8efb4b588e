"""An event-level fee override (`fee_type_override`, `fee_multiplier_override`) wins over
the series' rule in every market spec the venue loads: the strategy's fee-aware edge and
the bot's fee estimates used the series' rule for such an event."""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from pmbot.core.market import FeeSchedule, FeeType
from pmbot.venues.kalshi.signing import KalshiSigner
from pmbot.venues.kalshi.urls import resolve_urls
from pmbot.venues.kalshi.venue import KalshiVenue


async def test_an_event_fee_override_reaches_its_market_specs(sim: Any) -> None:
    v = KalshiVenue(
        resolve_urls("sim", sim.rest_url, sim.ws_url),
        KalshiSigner.from_pem(sim.key_id, sim.private_key_pem),
        lambda e: None,
        configure_limits=False,
    )
    await v.start()
    try:
        before = await v.load_markets("KXINX")
        series_fees = {m.fees for m in before}
        assert len(series_fees) == 1
        target = min(m.event_ticker for m in before)
        over = FeeSchedule(FeeType.QUADRATIC_WITH_MAKER_FEES, Fraction(3, 4))
        sim.exchange.set_event_fees(target, over, sim.now_ns())
        after = await v.load_markets("KXINX")
        assert {m.fees for m in after if m.event_ticker == target} == {over}
        assert {m.fees for m in after if m.event_ticker != target} <= series_fees
        one = await v.load_markets("KXINX", event_ticker=target)  # one event: one more read
        assert one and {m.fees for m in one} == {over}
    finally:
        await v.aclose()

"""Markets the Polymarket simulator lists in tests."""

from __future__ import annotations

from pmbot.sim.polymarket_server import SimMarket

CID = "0x" + "ab" * 32
YES = "71321045679252212594626385532706912750332728571942532289631379312455583992563"
NO = "52114319501245915516055106046884209969926127482827954674443846427813813222426"
CID2 = "0x" + "cd" * 32
YES2 = "1001"
NO2 = "1002"


def sim_markets() -> list[SimMarket]:
    return [
        SimMarket(
            CID,
            YES,
            NO,
            question="Will the sim work?",
            slug="will-the-sim-work",
            tick="0.01",
            fee_rate_bps=400,
        ),
        SimMarket(
            CID2,
            YES2,
            NO2,
            question="Neg-risk sim?",
            slug="neg-risk-sim",
            tick="0.001",
            neg_risk=True,
            gamma_id="2",
        ),
    ]

"""Polymarket hosts, chain ids and contract addresses (protocol doc §1)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AMOY",
    "CLOB_HOST",
    "CONTRACTS",
    "GAMMA_HOST",
    "POLYGON",
    "WS_HOST",
    "Contracts",
    "Endpoints",
]

POLYGON = 137
AMOY = 80002

CLOB_HOST = "https://clob.polymarket.com"
WS_HOST = "wss://ws-subscriptions-clob.polymarket.com"
GAMMA_HOST = "https://gamma-api.polymarket.com"


@dataclass(frozen=True, slots=True)
class Contracts:
    exchange_v2: str
    neg_risk_exchange_v2: str
    exchange_v3: str
    collateral: str
    conditional_tokens: str
    neg_risk_adapter: str


CONTRACTS = {
    POLYGON: Contracts(
        exchange_v2="0xE111180000d2663C0091e4f400237545B87B996B",
        neg_risk_exchange_v2="0xe2222d279d744050d28e00520010520000310F59",
        exchange_v3="0xe3333700cA9d93003F00f0F71f8515005F6c00Aa",
        collateral="0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB",
        conditional_tokens="0x4D97DCd97eC945f40cF65F87097ACe5EA0476045",
        neg_risk_adapter="0xd91E80cF2E7be2e162c6513ceD06f1dD0dA35296",
    ),
    AMOY: Contracts(
        exchange_v2="0xE111180000d2663C0091e4f400237545B87B996B",
        neg_risk_exchange_v2="0xe2222d279d744050d28e00520010520000310F59",
        exchange_v3="0x9fE6e61422AdB6F610d8597F9684b16912D50C3D",
        collateral="0xC011a7E12a19f7B1f670d46F03B03f3342E82DFB",
        conditional_tokens="0x69308FB512518e39F9b16112fA8d994F4e2Bf8bB",
        neg_risk_adapter="0xd91E80cF2E7be2e162c6513ceD06f1dD0dA35296",
    ),
}


@dataclass(frozen=True, slots=True)
class Endpoints:
    """Where one deployment lives: production by default, the simulator in tests."""

    clob: str = CLOB_HOST
    ws: str = WS_HOST
    gamma: str = GAMMA_HOST
    chain_id: int = POLYGON

    @classmethod
    def local(cls, base: str, chain_id: int = POLYGON) -> Endpoints:
        """The simulator serves REST, WS (/ws/...) and Gamma (/gamma/...) on one port."""
        base = base.rstrip("/")
        ws = "ws" + base[4:] if base.startswith("http") else base
        return cls(clob=base, ws=ws, gamma=base + "/gamma", chain_id=chain_id)

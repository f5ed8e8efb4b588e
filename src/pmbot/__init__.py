"""pmbot: a market-making bot for prediction markets (Kalshi, Polymarket)."""

__all__ = ["__version__"]
__version__ = "0.1.0"

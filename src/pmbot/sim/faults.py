"""Fault switches the simulator consults on every request and frame; flipped at run time by tests.

Each switch is plain state (counts or flags) so a test says exactly how many frames to damage
or requests to fail. The server asks the controller what to do; it never sleeps on its own.
Pure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Faults"]


@dataclass(slots=True)
class Faults:
    # REST
    http_5xx: int = 0  # fail the next N requests with 503
    http_429: int = 0  # answer the next N authenticated requests with 429
    http_401_writes: int = 0  # answer the next N signed write requests with 401 (key revoked)
    # the next N signed POST writes whose path ends with `lost_answer_path` are carried out,
    # then their connection is cut before the answer (a proxy or load balancer reset)
    lost_answers: int = 0
    lost_answer_path: str = ""
    stale_after_cancel: int = (
        0  # next N cancels: GET order keeps saying resting for `stale_reads` reads
    )
    stale_reads: int = 1
    stale_orders: dict[str, Any] = field(
        default_factory=dict
    )  # order_id -> (reads left, stale body)
    # WebSocket (orderbook_delta data frames)
    skip_seq: int = 0  # next N delta frames are dropped (a seq gap)
    dup_seq: int = 0  # next N delta frames are sent twice
    reorder_seq: int = 0  # next N pairs of delta frames are swapped
    delay_frames_s: float = 0.0  # hold every data frame this many simulated seconds
    drop_ws: int = 0  # close the next N connections' sockets (abruptly) at the next step
    lost_fills: int = 0  # the next N `fill` frames are never sent (REST still has the fills)
    # Exchange
    trading_paused: bool = False
    # Index feed (GET /sim/index without ts_ms): stall repeats the last answer; jump shifts
    # the served level by this many points (the markets still settle on the true path)
    index_stall: bool = False
    index_jump: float = 0.0
    index_frozen: tuple[int, str] | None = None

    def take(self, name: str) -> bool:
        """Consume one unit of a counted fault; True if it fires."""
        n = getattr(self, name)
        if n > 0:
            setattr(self, name, n - 1)
            return True
        return False

    def clear(self) -> None:
        for f in (
            "http_5xx",
            "http_429",
            "http_401_writes",
            "lost_answers",
            "stale_after_cancel",
            "skip_seq",
            "dup_seq",
            "reorder_seq",
            "drop_ws",
            "lost_fills",
        ):
            setattr(self, f, 0)
        self.delay_frames_s = 0.0
        self.stale_orders.clear()
        self.trading_paused = False
        self.index_stall = False
        self.index_jump = 0.0
        self.index_frozen = None

"""The kill switch: a latched, account-wide halt that asks for cancel-all.

It trips on the daily loss limit or by hand and stays tripped until an operator resets it;
a recovered P&L does not re-arm trading by itself. One instance is shared by the risk gates
of every event of an account.
"""

from __future__ import annotations

from dataclasses import dataclass

from pmbot.core.money import Micros

__all__ = ["KillSwitch", "KillSwitchTrip"]


@dataclass(frozen=True, slots=True)
class KillSwitchTrip:
    ts_ns: int
    reason: str  # "daily_loss" or "manual: <why>"


class KillSwitch:
    """Latched halt state; pure (time comes in as ts_ns)."""

    __slots__ = ("_trip",)

    def __init__(self) -> None:
        self._trip: KillSwitchTrip | None = None

    @property
    def tripped(self) -> bool:
        return self._trip is not None

    @property
    def trip_record(self) -> KillSwitchTrip | None:
        return self._trip

    @property
    def reason(self) -> str | None:
        return None if self._trip is None else self._trip.reason

    def trip(self, ts_ns: int, reason: str) -> bool:
        """Trip (first reason wins); True when this call tripped it."""
        if self._trip is not None:
            return False
        self._trip = KillSwitchTrip(ts_ns, reason)
        return True

    def manual(self, ts_ns: int, why: str = "operator") -> bool:
        return self.trip(ts_ns, f"manual: {why}")

    def check_daily_loss(self, ts_ns: int, daily_pnl: Micros, max_daily_loss: Micros) -> bool:
        """Trip when the day's loss reaches the limit; True when this call tripped it."""
        if -daily_pnl >= max_daily_loss:
            return self.trip(ts_ns, "daily_loss")
        return False

    def reset(self) -> KillSwitchTrip | None:
        """Re-arm trading (an operator action); returns the trip that was cleared."""
        t, self._trip = self._trip, None
        return t

"""Feed test fixtures."""

from __future__ import annotations

import pytest
from feed_clock import ParkingClock


@pytest.fixture
def clock() -> ParkingClock:
    return ParkingClock()

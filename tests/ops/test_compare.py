"""pmbot vs baseline on the simulator with informed flow, same seed (short runs)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from pmbot.compare import compare, comparison_dict

from .conftest import START, settings

pytestmark = pytest.mark.slow


async def test_compare_pmbot_and_baseline(tmp_path: Path) -> None:
    res = await compare(
        settings(tmp_path), duration_s=100, speed=30.0, seed=5, start_ns=START, workdir=tmp_path
    )
    assert [r.name for r in res] == ["pmbot", "baseline"]
    for r in res:
        s = r.summary
        assert r.run["clean_shutdown"]
        # the journal holds every fill of the account (stream and backfill), once
        assert s["fills"] >= r.run["fills"]
        assert s["fills"] == r.run["venue_view"]["fills"]
        if s["fills"]:
            assert s["pnl_per_contract_cents"] is not None
            mo = s["markouts_cents"]["fair"]
            assert {"0s", "1s", "10s", "60s"} <= set(mo)
            assert mo["1s"] is not None and math.isfinite(mo["1s"])
    assert sum(r.summary["fills"] for r in res) > 0
    table = comparison_dict(res)
    assert set(table) == {"pmbot", "baseline"}
    assert "markout 60s ¢/contract" in table["pmbot"]

"""Run operator commands in-process against the loopback simulator (no subprocess, no sleeps)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from pmbot.cli import build_parser


@pytest.fixture
def cmd_args(sim: Any, tmp_path: Any) -> Callable[..., Any]:
    """argv -> parsed args pointing at the `sim` fixture (endpoints, key dir, ledger path)."""

    def make(*argv: str, ledger: bool = False) -> Any:
        base = [
            "--rest-url",
            sim.rest_url,
            "--ws-url",
            sim.ws_url,
            "--key-dir",
            str(sim.private_key_path.parent),
        ]
        return build_parser().parse_args([argv[0], *base, *argv[1:]])

    return make


def last_json(out: str) -> Any:
    return json.loads(out[out.index("{") :])


@pytest.fixture
async def venue(sim: Any) -> Any:
    """A second client of the same account (places the orders the commands must find)."""
    from pmbot.venues.kalshi.signing import KalshiSigner
    from pmbot.venues.kalshi.urls import resolve_urls
    from pmbot.venues.kalshi.venue import KalshiVenue

    v = KalshiVenue(
        resolve_urls("sim", sim.rest_url, sim.ws_url),
        KalshiSigner.from_pem(sim.key_id, sim.private_key_pem),
        lambda e: None,
        configure_limits=False,
    )
    await v.start()
    yield v
    await v.aclose()

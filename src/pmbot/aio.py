"""asyncio helpers for the order-entry hot path."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["EAGER", "start_now"]

_T = TypeVar("_T")

# Python 3.12+: a task can start eagerly, and aiohttp then writes a request's body in the
# sender's own step; before, both wait for later turns of the event loop.
EAGER = sys.version_info >= (3, 12)
_EAGER_KW: dict[str, Any] = {"eager_start": True} if EAGER else {}


def start_now(coro: Coroutine[Any, Any, _T], *, name: str | None = None) -> asyncio.Task[_T]:
    """A task that runs at once, in the caller's step, up to its first real wait (Python
    3.12+: eager start; a request it sends is on the socket when this returns). Before 3.12,
    an ordinary task that starts at the next turn of the loop."""
    loop = asyncio.get_running_loop()
    if EAGER:
        return asyncio.Task(coro, loop=loop, name=name, **_EAGER_KW)
    return loop.create_task(coro, name=name)

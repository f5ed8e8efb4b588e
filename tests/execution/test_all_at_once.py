"""The calls of one pass are written as early as the Python version allows."""

from __future__ import annotations

import asyncio

import pytest

from pmbot.aio import EAGER, start_now
from pmbot.execution.sending import _all_at_once


def _calls(started: list[int], fail: int | None = None) -> list:
    async def call(i: int) -> None:
        started.append(i)  # the request is built and written before the first wait
        await asyncio.sleep(0)  # the venue's answer
        if i == fail:
            raise ValueError(f"call {i}")

    return [call(i) for i in range(3)]


@pytest.mark.skipif(not EAGER, reason="eager tasks: Python 3.12+")
async def test_every_call_starts_in_the_callers_step() -> None:
    started: list[int] = []
    task = start_now(_all_at_once(_calls(started, fail=1)))
    assert started == [0, 1, 2]  # no turn of the loop yet
    res = await task
    assert res[0] is None and res[2] is None
    assert isinstance(res[1], ValueError)


@pytest.mark.skipif(EAGER, reason="before Python 3.12")
async def test_the_first_call_runs_inline_the_others_next_turn() -> None:
    started: list[int] = []
    task = start_now(_all_at_once(_calls(started, fail=0)))
    assert started == []  # an ordinary task: starts at the next turn
    await asyncio.sleep(0)
    assert started == [0]  # the first call ran inline in the task's first step
    res = await task
    assert started == [0, 1, 2]
    assert isinstance(res[0], ValueError) and res[1:] == [None, None]


async def test_cancelling_cancels_every_call() -> None:
    gate = asyncio.Event()
    done: list[int] = []

    async def call(i: int) -> None:
        await gate.wait()
        done.append(i)

    task = start_now(_all_at_once([call(i) for i in range(3)]))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    gate.set()
    await asyncio.sleep(0)
    assert done == []

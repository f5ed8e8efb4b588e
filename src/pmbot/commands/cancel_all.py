"""`pmbot cancel-all`: cancel every resting order of the account, then verify with the venue.

The operator's kill switch when the bot is gone (or must be stopped from outside). Cancels go
out in batches; then the venue's resting list is read again, retrying through the cancel race
(a just-canceled order may still be listed for a moment) until it is empty or `--timeout`.
Exit 0 only when the venue confirms nothing rests; 1 otherwise (loudly, with the ids).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pmbot.commands._common import add_endpoint_arguments, emit_json, open_venue, settings_from_args

__all__ = ["HELP", "add_arguments", "amain", "main"]

HELP = "cancel every resting order of the account and verify with the venue (exit 1 if not)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_endpoint_arguments(p)
    p.add_argument("--ticker", help="only this market")
    p.add_argument("--timeout", type=float, default=15.0, help="seconds to get confirmation")
    p.add_argument("--retry", type=float, default=0.25, help="seconds between verifications")


def main(args: argparse.Namespace) -> int:
    return asyncio.run(amain(args, os.environ))


async def amain(args: argparse.Namespace, environ: Mapping[str, str]) -> int:
    from pmbot.errors import AuthError, VenueError
    from pmbot.venues.kalshi.port import KalshiPort

    s = settings_from_args(args, environ)
    t0 = time.monotonic()
    pr = _Progress()
    try:
        async with open_venue(s, environ, args.max_retries) as venue:
            await _cancel_loop(args, KalshiPort(venue), pr, t0)
    except AuthError:
        raise
    except VenueError as e:
        pr.errors.append(f"venue: {e}")
    before, left, canceled, errors = pr.before, pr.left, pr.canceled, pr.errors
    confirmed = left == []
    out = {
        "confirmed": confirmed,
        "resting_before": None if before is None else len(before),
        "canceled": len(canceled),
        "attempts": pr.attempts,
        "still_resting": None if left is None else [u.order_id for u in left],
        "errors": errors[:50],
        "seconds": round(time.monotonic() - t0, 3),
    }
    if args.json:
        emit_json(out)
    elif confirmed:
        print(
            f"cancel-all confirmed: nothing rests (canceled {len(canceled)}, "
            f"{out['resting_before']} were resting)"
        )
    if not confirmed:
        what = "the venue could not be asked" if left is None else f"{len(left)} still resting"
        print(
            f"CANCEL-ALL NOT CONFIRMED after {out['seconds']}s: {what} "
            f"{(out['still_resting'] or [])[:20]} errors={errors[:5]}",
            file=sys.stderr,
        )
        return 1
    return 0


@dataclass
class _Progress:
    before: list[Any] | None = None  # resting at the start (None: never listed)
    left: list[Any] | None = None  # resting at the last look (None: the look failed)
    attempts: int = 0
    canceled: set[str] = field(default_factory=set)
    errors: list[str] = field(default_factory=list)


async def _cancel_loop(args: argparse.Namespace, port: Any, pr: _Progress, t0: float) -> None:
    """Cancel what rests and look again until the venue lists nothing (or the timeout)."""
    from pmbot.core.orders import OrderStatus
    from pmbot.core.requests import CancelOrder
    from pmbot.errors import AuthError, NotFound, VenueError

    async def resting() -> list[Any] | None:
        try:
            return await port.list_orders(status=OrderStatus.RESTING, ticker=args.ticker)
        except AuthError:
            raise
        except VenueError as e:
            pr.errors.append(f"list: {e}")
            return None

    pr.before = pr.left = await resting()
    while True:
        left = pr.left
        if left:
            pr.attempts += 1
            n = max(1, port.max_batch_cancel)
            for i in range(0, len(left), n):
                chunk = [
                    CancelOrder(u.order_id, u.ticker, u.client_order_id) for u in left[i : i + n]
                ]
                try:
                    res = await port.batch_cancel(chunk)
                except AuthError:
                    raise
                except VenueError as e:
                    pr.errors.append(f"batch_cancel: {e}")
                    continue
                for req, r in zip(chunk, res, strict=False):
                    if isinstance(r, BaseException) and not isinstance(r, NotFound):
                        pr.errors.append(f"{req.order_id}: {r}")
                    else:
                        pr.canceled.add(req.order_id)
            pr.left = await resting()
        if pr.left == []:
            break
        if time.monotonic() - t0 >= args.timeout:
            break
        await asyncio.sleep(args.retry)
        pr.left = await resting()

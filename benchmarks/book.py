"""BinaryBook delta application vs a seed-style dict book (price -> size, max() for best),
and vs a careful dict book that keeps its best level (rescanned only when it empties).

Both books get the same seeded stream of deltas on a 1-cent grid, concentrated near the
top of book as real streams are, and must agree on the best levels at the end.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _bench import Reporter, median_ns_per_op, parse_args
from pmbot.core.book import BinaryBook
from pmbot.core.money import ONE, PriceGrid, PriceRange


class DictBook:
    """The seed's book: dicts of price -> size, best level by max() after each change."""

    def __init__(self) -> None:
        self.yes: dict[int, int] = {}
        self.no: dict[int, int] = {}
        self.best_yes: int | None = None
        self.best_no: int | None = None

    def apply(self, is_yes: bool, price: int, delta: int) -> None:
        d = self.yes if is_yes else self.no
        v = d.get(price, 0) + delta
        if v <= 0:
            d.pop(price, None)
        else:
            d[price] = v
        if is_yes:
            self.best_yes = max(self.yes) if self.yes else None
        else:
            self.best_no = max(self.no) if self.no else None


class CachedBestBook(DictBook):
    """A careful dict book: the best level is kept, rescanned only when it empties (what
    BinaryBook does over its tick array): the fair baseline for a best-price book."""

    def apply(self, is_yes: bool, price: int, delta: int) -> None:
        d = self.yes if is_yes else self.no
        v = d.get(price, 0) + delta
        best = self.best_yes if is_yes else self.best_no
        if v <= 0:
            d.pop(price, None)
            if price == best:
                best = max(d) if d else None
        else:
            d[price] = v
            if best is None or price > best:
                best = price
        if is_yes:
            self.best_yes = best
        else:
            self.best_no = best


def make_stream(
    n: int, seed: int, step: int = 100
) -> tuple[list[tuple[int, int]], list[tuple[int, int]], list[tuple[bool, int, int]]]:
    rng = random.Random(seed)
    yes = {p: rng.randint(1, 50) * 100 for p in range(step, 5000, step)}
    no = {p: rng.randint(1, 50) * 100 for p in range(step, 5000, step)}
    cur = {True: dict(yes), False: dict(no)}
    out = []
    for _ in range(n):
        side = rng.random() < 0.5
        top = max(cur[side]) if cur[side] else 4900
        p = max(
            step,
            min(
                ONE - step,
                top - step * int(abs(rng.gauss(0, 4))) + (step if rng.random() < 0.1 else 0),
            ),
        )
        have = cur[side].get(p, 0)
        d = -have if (have and rng.random() < 0.35) else rng.randint(1, 20) * 100
        if d == 0:
            d = 100
        cur[side][p] = have + d
        if cur[side][p] == 0:
            del cur[side][p]
        out.append((side, p, d))
    return list(yes.items()), list(no.items()), out


def main() -> None:
    args = parse_args(__doc__ or "")
    r = Reporter(args.json)
    # 1-cent grid, ~49 levels a side (S&P buckets); 0.1-cent grid, ~490 levels a side (deep book)
    for label, step, grid in (
        ("linear_cent", 100, PriceGrid.linear_cent()),
        ("deci_cent", 10, PriceGrid([PriceRange(0, ONE, 10)])),
    ):
        run_case(r, args.repeat, label, step, grid)


def run_case(r: Reporter, repeat: int, label: str, step: int, grid: PriceGrid) -> None:
    yes, no, stream = make_stream(20_000, 1, step)

    book = BinaryBook(grid)
    ticks = [(s, (grid.tick(p) if s else book.no_grid.tick(p)), d) for s, p, d in stream]

    def run_book() -> None:
        book.apply_snapshot(yes, no)
        f = book.apply_delta
        for s, p, d in stream:
            f(s, p, d)

    def run_ticks() -> None:
        book.apply_snapshot(yes, no)
        f = book.apply_tick
        for s, t, d in ticks:
            f(s, t, d)

    def run_dict() -> None:
        db = DictBook()
        db.yes, db.no = dict(yes), dict(no)
        f = db.apply
        for s, p, d in stream:
            f(s, p, d)
        run_dict.last = db  # type: ignore[attr-defined]

    def run_cached() -> None:
        cb = CachedBestBook()
        cb.yes, cb.no = dict(yes), dict(no)
        cb.best_yes, cb.best_no = max(cb.yes), max(cb.no)
        f = cb.apply
        for s, p, d in stream:
            f(s, p, d)
        run_cached.last = cb  # type: ignore[attr-defined]

    # All must agree before we time anything.
    run_book()
    run_dict()
    run_cached()
    db = run_dict.last  # type: ignore[attr-defined]
    cb = run_cached.last  # type: ignore[attr-defined]
    assert book.yes_bid_price() == db.best_yes and book.best_no_bid()[0] == db.best_no  # type: ignore[index]
    assert (cb.best_yes, cb.best_no) == (db.best_yes, db.best_no)

    n = len(stream)
    base = median_ns_per_op(run_dict, n, repeat)
    ours = median_ns_per_op(run_book, n, repeat)
    ours_t = median_ns_per_op(run_ticks, n, repeat)
    r.figure(f"book.{label}.apply_delta_ns", ours, "ns/delta", "dict_book_max", base)
    r.figure(f"book.{label}.apply_tick_ns", ours_t, "ns/delta", "dict_book_max", base)
    cached = median_ns_per_op(run_cached, n, repeat)
    r.figure(
        f"book.{label}.apply_delta_vs_cached_ns", ours, "ns/delta", "dict_book_cached_best", cached
    )


if __name__ == "__main__":
    main()

"""RiskGate: the one path from a strategy's wishes to desired quotes.

The gate sees the same `QuoteInputs` snapshot as the strategy plus its proposed quotes and
returns what may rest: quotes of HALTED scopes removed, quotes of REDUCING scopes cut to
reduce-only, every survivor valid on its grid, post-only, not crossing its book or its own
opposite quote, and trimmed until every limit of `RiskLimits` holds whatever subset fills.
It keeps the state of each scope (the event and each market) and returns a transition
record, also logged, whenever a state or its reason changes.
"""

from __future__ import annotations

import logging
from collections.abc import Container, Mapping, Sequence
from dataclasses import dataclass, field
from operator import is_

from pmbot.core.market import MarketSpec
from pmbot.core.money import Micros, Price, Qty
from pmbot.risk.guards import (
    Finding,
    GuardParams,
    RiskState,
    event_findings,
    market_states,
    worst_of,
)
from pmbot.risk.kill_switch import KillSwitch
from pmbot.risk.limits import (
    CostParts,
    RiskLimits,
    cap_positions,
    gross_fill_cost,
    harm_by_cell,
    reduce_only,
    trim_cost_parts,
    trim_event_loss,
    trim_to_lot,
)
from pmbot.strategy.inputs import DesiredQuote, QuoteInputs, Side
from pmbot.strategy.inventory import payoff_micros, positions_of, win_cells

__all__ = ["GateDecision", "RiskGate", "RiskTransition"]

log = logging.getLogger("pmbot.risk")


@dataclass(frozen=True, slots=True)
class RiskTransition:
    ts_ns: int
    scope: str  # event ticker or market ticker
    old: RiskState
    new: RiskState
    reason: str  # why the new state holds ("" when ACTIVE)
    old_reason: str = ""


@dataclass(frozen=True, slots=True)
class GateDecision:
    """The gate's answer: the quotes that may rest, the risk state, and what changed."""

    quotes: tuple[DesiredQuote, ...]
    state: RiskState  # the event's state
    reason: str
    market_states: Mapping[str, tuple[RiskState, str]] = field(default_factory=dict)
    transitions: tuple[RiskTransition, ...] = ()
    cancel_all: bool = False  # the kill switch asks to cancel every order of the account
    event_loss: Micros | None = None  # worst-case loss of current positions
    trimmed: int = 0  # proposed quotes dropped or shrunk by the gate


_ACTIVE: tuple[RiskState, str] = (RiskState.ACTIVE, "")
_UNSEEN: tuple[int, int] = (0, 0)  # a sentinel: the book of that market not yet looked at


class _Layout:
    """What the gate derives from an event's market list alone (kept while the list is)."""

    __slots__ = ("ids", "index", "markets", "specs", "tickers", "valid")

    def __init__(self, markets: tuple[MarketSpec, ...]) -> None:
        self.markets = markets  # held so that the ids below stay these objects'
        self.ids = tuple(map(id, markets))
        self.tickers = tuple(m.ticker for m in markets)
        self.specs = {m.ticker: m for m in markets}
        self.index = {m.ticker: i for i, m in enumerate(markets)}
        # per market, its valid order prices (`PriceGrid.valid_order_price` as a set)
        self.valid = {
            m.ticker: frozenset(p for p in m.grid.prices if m.grid.valid_order_price(p))
            for m in markets
        }


def _worst(findings: Sequence[Finding]) -> tuple[RiskState, str]:
    return worst_of([(f.state, f.reason) for f in findings])


class RiskGate:
    """Guards, kill switch and limits for one event; pure apart from its own memory."""

    def __init__(
        self,
        limits: RiskLimits,
        guards: GuardParams | None = None,
        kill_switch: KillSwitch | None = None,
    ) -> None:
        self.limits = limits
        self.guards = guards if guards is not None else GuardParams()
        self.kill_switch = kill_switch if kill_switch is not None else KillSwitch()
        self._states: dict[str, tuple[RiskState, str]] = {}
        self._seen_scopes: set[str] = set()  # scopes some decision has recorded
        self._cells_key: tuple[object, ...] | None = None
        self._cells: list[tuple[int, ...]] = []
        self._lay: _Layout | None = None
        self._pay_cells: list[tuple[int, ...]] | None = None
        self._pay_key: tuple[object, ...] | None = None
        self._pay: list[Micros] = []
        self._flagged: Mapping[str, object] = {}
        self._flagged_of: Mapping[str, tuple[RiskState, str]] | None = None
        self._loss_of: list[Micros] | None = None  # the payoff `_loss` was derived from
        self._loss_ec: Micros = 0
        self._loss: list[Micros] = []
        self._loss_max: Micros = 0
        # (event, its state) and every market's state as the last `_record` left them
        self._quiet: tuple[str, tuple[RiskState, str]] | None = None
        self._quiet_states: Mapping[str, tuple[RiskState, str]] = {}

    def _layout(self, markets: tuple[MarketSpec, ...]) -> _Layout:
        lay = self._lay
        if lay is None or markets is not lay.markets:
            if lay is None or tuple(map(id, markets)) != lay.ids:
                lay = self._lay = _Layout(markets)
            else:  # a new tuple of the same specs (the live shell builds one per decision)
                lay.markets = markets  # holds them as well: the next call is the `is` check
        return lay

    def _win_cells(self, inp: QuoteInputs) -> list[tuple[int, ...]] | None:
        fair = inp.fair
        if fair is None:
            return None
        key = (fair.edges, self._layout(inp.markets).tickers)
        if key != self._cells_key:
            self._cells = win_cells(inp.markets, fair)
            self._cells_key = key
        return self._cells

    def apply(self, inp: QuoteInputs, proposed: Sequence[DesiredQuote]) -> GateDecision:
        """Admit, cut and trim `proposed` for the snapshot `inp`."""
        lim, now = self.limits, inp.ts_ns
        ks = self.kill_switch
        ks.check_daily_loss(now, inp.daily_pnl, lim.max_daily_loss)

        cells = self._win_cells(inp)
        loss: list[Micros] | None = None
        event_loss: Micros | None = None
        if cells is not None and inp.fair is not None:
            pos_v = positions_of(self._layout(inp.markets).tickers, inp.positions)
            key = (len(inp.fair.cell_probs), tuple(pos_v))
            if cells is not self._pay_cells or key != self._pay_key:
                self._pay = payoff_micros(key[0], cells, pos_v)  # changes only on fills
                self._pay_cells, self._pay_key = cells, key
            ec = inp.event_cost
            if self._loss_of is not self._pay or ec != self._loss_ec:  # fills move either
                self._loss = [ec - v for v in self._pay]
                self._loss_max = max(self._loss)
                self._loss_of, self._loss_ec = self._pay, ec
            loss, event_loss = self._loss, self._loss_max

        lay = self._layout(inp.markets)
        ev_find = event_findings(inp, self.guards, lim, event_loss, lay.index)
        if ks.tripped:
            ev_find.insert(
                0, Finding(inp.event_ticker, RiskState.HALTED, f"kill_switch:{ks.reason}")
            )
        ev_state = _worst(ev_find)
        tickers = lay.tickers
        m_states = dict.fromkeys(tickers, _ACTIVE)
        flagged = market_states(inp, self.guards, lim, tickers)
        m_states.update(flagged)
        self._flagged, self._flagged_of = flagged, m_states  # the only non-ACTIVE markets
        recorded = (inp.event_ticker, ev_state)
        if recorded == self._quiet and m_states == self._quiet_states:
            transitions = []  # every scope is in the state recorded last time
        else:
            transitions = self._record(now, inp.event_ticker, ev_state, m_states, inp.quotable)
            self._quiet, self._quiet_states = recorded, m_states

        quotes = self._fit(inp, proposed, ev_state[0], m_states, cells, loss)
        trimmed = 0
        if len(quotes) != len(proposed) or not all(map(is_, quotes, proposed)):
            same = {id(q) for q in quotes}  # most survivors are the proposed objects themselves
            kept: set[DesiredQuote] | None = None
            for d in proposed:
                if id(d) in same:
                    continue
                if kept is None:
                    kept = set(quotes)
                if d not in kept:
                    trimmed += 1
        return GateDecision(
            quotes=tuple(quotes),
            state=ev_state[0],
            reason=ev_state[1],
            market_states=m_states,
            transitions=tuple(transitions),
            cancel_all=ks.tripped,
            event_loss=event_loss,
            trimmed=trimmed,
        )

    def _fit(
        self,
        inp: QuoteInputs,
        proposed: Sequence[DesiredQuote],
        ev_state: RiskState,
        m_states: Mapping[str, tuple[RiskState, str]],
        cells: list[tuple[int, ...]] | None,
        loss: list[Micros] | None,
    ) -> list[DesiredQuote]:
        """Admit and trim until the live orders the result leaves committed are stable.

        Committed orders shrink the room of the desired ones; a trim can turn a kept order
        into a changed one, which is then committed too: repeat (each pass commits at
        least one more order, so this ends).
        """
        lim = self.limits
        live = self._live(inp) if lim.count_resting else []
        in_place = lim.amends_in_place
        committed = self._unmatched(live, proposed, in_place)
        made: dict[tuple[int, Qty], DesiredQuote] = {}  # live orders as quotes, when committed
        while True:
            fixed = []
            for i in sorted(committed):
                n = committed[i]
                d = made.get((i, n))
                if d is None:
                    t, side, price, _qty = live[i]
                    d = made[(i, n)] = DesiredQuote(t, side, price, n)
                fixed.append(d)
            quotes = self._trim(inp, proposed, ev_state, m_states, cells, loss, fixed)
            if len(quotes) == len(proposed) and all(map(is_, quotes, proposed)):
                return quotes  # nothing cut: the same live orders stay unmatched
            now = self._unmatched(live, quotes, in_place)
            # trims only shrink quotes, so what is committed only grows (bounded: this ends)
            more = {i: n for i, n in now.items() if n > committed.get(i, 0)}
            if not more:
                return quotes
            committed.update(more)

    def _trim(
        self,
        inp: QuoteInputs,
        proposed: Sequence[DesiredQuote],
        ev_state: RiskState,
        m_states: Mapping[str, tuple[RiskState, str]],
        cells: list[tuple[int, ...]] | None,
        loss: list[Micros] | None,
        fixed: Sequence[DesiredQuote],
    ) -> list[DesiredQuote]:
        lim, pos = self.limits, inp.positions
        quotes = self._admit(inp, proposed, ev_state, m_states, fixed)
        quotes = cap_positions(quotes, pos, lim.max_position, fixed)
        # the trims below only shrink quotes: when even full fills of everything cannot reach
        # a limit (`gross_fill_cost`), its trim would return the quotes as they are
        gross = gross_fill_cost(quotes) + (gross_fill_cost(fixed) if fixed else 0)
        if loss is not None and quotes and max(loss) + gross > lim.max_event_loss:
            assert cells is not None
            idx = self._layout(inp.markets).index
            # the positions' own worst case: only it may lift the bound over the cap (a live
            # order reaching past the cap must not make room for new quotes elsewhere)
            worst = max(loss)
            if fixed:
                extra = harm_by_cell(fixed, [cells[idx[d.ticker]] for d in fixed], len(loss))
                loss = [a + b for a, b in zip(loss, extra, strict=True)]
            qc = [cells[idx[d.ticker]] for d in quotes]
            quotes = trim_event_loss(quotes, qc, loss, lim.max_event_loss, worst)
        if (
            inp.event_capital + gross > lim.max_event_cost
            or inp.account_exposure + gross > lim.max_account_exposure
        ):
            parts = CostParts(quotes, pos, fixed)
            quotes, changed = trim_cost_parts(
                quotes, parts, inp.event_capital, lim.max_event_cost, lim.lot
            )
            if changed:
                parts = CostParts(quotes, pos, fixed)
            quotes, _ = trim_cost_parts(
                quotes, parts, inp.account_exposure, lim.max_account_exposure, lim.lot
            )
        return trim_to_lot(quotes, lim.lot)

    def _live(self, inp: QuoteInputs) -> list[tuple[str, Side, Price, Qty]]:
        """Our live orders in the event's markets, as (ticker, side, price, size) quotes."""
        if not inp.resting:
            return []
        names = self._layout(inp.markets).index
        return [
            (t, r.side, r.price, r.remaining)
            for t, rs in inp.resting.items()
            if t in names
            for r in rs
            if r.remaining > 0
        ]

    @staticmethod
    def _unmatched(
        live: Sequence[tuple[str, Side, Price, Qty]],
        quotes: Sequence[DesiredQuote],
        in_place: bool = False,
    ) -> dict[int, Qty]:
        """Live orders the desired set does not reproduce exactly: they may fill meanwhile.

        An order kept as it is (same side, price and size) is the desired quote itself; any
        other live order can still fill until the planner's cancel or amend lands, so its
        full remaining size counts against the limits ("committed"): {live index: size}.

        `in_place` (a venue whose amend sets the order's total): the one live order
        of a (market, side) that has one desired quote is amended into it, and the two can
        fill `max(rest, new size)` together, never both: only the rest above the new size
        is committed (none when the new size is as large).
        """
        out: dict[int, Qty] = {}
        if not live:
            return out
        want: dict[tuple[str, str, int, int], int] = {}
        get = want.get
        for d in quotes:
            k = (d.ticker, d.side, d.price, d.qty)
            want[k] = get(k, 0) + 1
        left: list[int] = []
        for i, k in enumerate(live):
            n = get(k, 0)
            if n > 0:
                want[k] = n - 1
            else:
                left.append(i)
        if not in_place or not left:
            return {i: live[i][3] for i in left}
        lives: dict[tuple[str, str], int] = {}
        for t, side, _p, _q in live:
            lives[(t, side)] = lives.get((t, side), 0) + 1
        wanted: dict[tuple[str, str], list[DesiredQuote]] = {}
        for d in quotes:
            wanted.setdefault((d.ticker, d.side), []).append(d)
        for i in left:
            t, side, p, q = live[i]
            ds = wanted.get((t, side))
            # only when the live price is no dearer than the quote's: what fills before the
            # amend lands fills at the live price (a bid moved down, an ask moved up: both)
            if (
                lives[(t, side)] == 1
                and ds is not None
                and len(ds) == 1
                and (p <= ds[0].price if side == "bid" else p >= ds[0].price)
            ):
                if q > ds[0].qty:
                    out[i] = q - ds[0].qty
            else:
                out[i] = q
        return out

    def _admit(
        self,
        inp: QuoteInputs,
        proposed: Sequence[DesiredQuote],
        ev_state: RiskState,
        m_states: Mapping[str, tuple[RiskState, str]],
        fixed: Sequence[DesiredQuote],
    ) -> list[DesiredQuote]:
        """Drop what may not rest at all; cut REDUCING scopes to reduce-only.

        `m_states` holds every market of the layout (as `apply` builds it).
        """
        if ev_state is RiskState.HALTED:
            return []
        lay = self._layout(inp.markets)
        specs, valid = lay.specs, lay.valid
        books = inp.books
        # only markets with findings can be HALTED or REDUCING (see `apply`)
        flagged = self._flagged if m_states is self._flagged_of else m_states
        halted = {t for t in flagged if m_states[t][0] is RiskState.HALTED}
        best: dict[str, tuple[int, int] | None] = {}  # bests of the markets asked about
        ok: list[DesiredQuote] = []
        # a market's own bid must stay below its own ask: its highest bid and lowest ask
        hi_bid: dict[str, int] = {}
        lo_ask: dict[str, int] = {}
        sel = inp.quotable
        for d in proposed:
            t = d.ticker
            prices = valid.get(t)  # None: not a market of the event
            if prices is None or d.qty <= 0 or not d.post_only:
                continue
            if sel is not None and t not in sel:
                continue
            px = d.price
            if px not in prices or t in halted:
                continue
            bt = best.get(t, _UNSEEN)
            if bt is _UNSEEN:
                b = books.get(t)
                if b is None:
                    bt = None
                else:
                    bb, ba = b.yes_bid_price(), b.yes_ask_price()
                    bt = (-1 if bb is None else bb, 1 << 30 if ba is None else ba)
                best[t] = bt
            if bt is None:
                continue
            side = d.side
            if side == "bid":
                if px >= bt[1]:
                    continue
                if px > hi_bid.get(t, -1):
                    hi_bid[t] = px
            else:
                if side == "ask" and px <= bt[0]:
                    continue
                if px < lo_ask.get(t, 1 << 30):
                    lo_ask[t] = px
            ok.append(d)
        bad = {t for t, b in hi_bid.items() if t in lo_ask and b >= lo_ask[t]}
        if bad:
            ok = [d for d in ok if d.ticker not in bad]
        if ev_state is RiskState.ACTIVE:
            reducing = {t for t in flagged if m_states[t][0] is RiskState.REDUCING}
        else:
            reducing = set(specs)
        if reducing:
            red = reduce_only([d for d in ok if d.ticker in reducing], inp.positions, fixed)
            it = iter(red)
            ok = [next(it) if d.ticker in reducing else d for d in ok]
        return ok

    def _record(
        self,
        ts_ns: int,
        event: str,
        ev_state: tuple[RiskState, str],
        m_states: Mapping[str, tuple[RiskState, str]],
        quotable: Container[str] | None = None,
    ) -> list[RiskTransition]:
        out = []
        states = self._states
        for scope, new in ((event, ev_state), *m_states.items()):
            seen = scope in self._seen_scopes
            old = states.get(scope, _ACTIVE)
            if new != old:
                tr = RiskTransition(ts_ns, scope, old[0], new[0], new[1], old[1])
                out.append(tr)
                self._states[scope] = new
                # a market without a book because it is not selected (never subscribed, or
                # unsubscribed when the selection moved) is no incident: INFO, not the
                # WARNING of a market that lost its book
                unselected = not seen or (quotable is not None and scope not in quotable)
                worse = new[0] > old[0] and not (unselected and new[1] == "no_book")
                lvl = logging.WARNING if worse else logging.INFO
                # a return to ACTIVE has no reason of its own: say which one cleared
                log.log(
                    lvl,
                    "risk transition scope=%s from=%s to=%s reason=%s ts_ns=%d",
                    scope,
                    old[0].name,
                    new[0].name,
                    new[1] or f"cleared:{old[1]}",
                    ts_ns,
                )
            self._seen_scopes.add(scope)
        return out

    def state_of(self, scope: str) -> tuple[RiskState, str]:
        return self._states.get(scope, (RiskState.ACTIVE, ""))

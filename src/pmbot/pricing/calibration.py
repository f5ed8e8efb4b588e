"""Score ladder forecasts against settled outcomes: log loss per event, Brier, PIT shares.

Pure and vectorised over events: a forecast is the CDF of the reference value at each edge
of the event's ladder (one row per event), plus the continuous CDF at the realised value
(PIT). Log loss is the primary score because it is sensitive to the wing probabilities a
market maker sells; Brier barely separates good from bad wings (pricing notes §6.1).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "Score",
    "climatology_forecast",
    "kalshi_like_edges",
    "parametric_forecast",
    "realised_cells",
    "score_events",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_P_FLOOR = 1e-12  # a zero forecast for the realised cell scores as -ln(1e-12), not infinity


@dataclass(frozen=True, slots=True)
class Score:
    model: str
    log_loss: float
    brier: float
    pit_tail_share: float
    pit_iqr_share: float
    n_events: int
    first: str = ""  # the first and last event date scored (YYYY-MM-DD)
    last: str = ""

    def as_dict(self) -> dict[str, object]:
        d = asdict(self)
        for k in ("log_loss", "brier", "pit_tail_share", "pit_iqr_share"):
            d[k] = round(float(d[k]), 4)
        return d


def kalshi_like_edges(
    level: FloatArray, width_frac: float = 0.0042, round_to: float = 5.0, n_buckets: int = 24
) -> FloatArray:
    """Edges of a ladder per event (rows): `n_buckets` buckets of a width scaled to the level.

    Width = `width_frac` of the level (25 points at about 6,000) rounded to `round_to`
    points; edges are multiples of the width with the level in the middle bucket. Two open
    tails complete the partition (n_buckets + 2 cells, n_buckets + 1 edges).
    """
    level = np.asarray(level, dtype=np.float64)
    width = np.maximum(np.round(level * width_frac / round_to) * round_to, round_to)
    centre = np.floor(level / width) * width  # floor of the bucket holding the level
    first = centre - (n_buckets // 2) * width
    edges = first[:, None] + width[:, None] * np.arange(n_buckets + 1)[None, :]
    return np.asarray(edges, dtype=np.float64)


def realised_cells(edges: FloatArray, outcome: FloatArray) -> IntArray:
    """Index of the cell (0 = bottom tail) holding each outcome; cells are [e_i-1, e_i)."""
    return np.asarray((edges <= np.asarray(outcome)[:, None]).sum(axis=1), dtype=np.int64)


def score_events(
    model: str,
    cdf_at_edges: FloatArray,
    cell: IntArray,
    pit: FloatArray,
    near: IntArray | None = None,
    n_near: int = 6,
) -> Score:
    """Score a model over events.

    cdf_at_edges: (events, edges) P(outcome < edge); cell: realised cell per event; pit: the
    model CDF at the realised value. Brier is the per-contract binary Brier over the
    `n_near` buckets nearest `near` (the bucket holding the opening level), as in the notes.
    """
    cdf = np.asarray(cdf_at_edges, dtype=np.float64)
    n, m = cdf.shape
    full = np.concatenate([np.zeros((n, 1)), cdf, np.ones((n, 1))], axis=1)
    probs = np.diff(full, axis=1)  # (n, m + 1) cells
    rows = np.arange(n)
    p_real = np.maximum(probs[rows, cell], _P_FLOOR)
    log_loss = float(-np.log(p_real).mean())
    if near is None:
        near = np.full(n, (m + 1) // 2, dtype=np.int64)
    offs = np.arange(n_near) - n_near // 2
    cols = np.clip(np.asarray(near)[:, None] + offs[None, :], 1, m - 1)  # interior buckets
    p = probs[rows[:, None], cols]
    y = (cols == np.asarray(cell)[:, None]).astype(np.float64)
    brier = float(((p - y) ** 2).mean())
    pit = np.asarray(pit, dtype=np.float64)
    tail = float(((pit < 0.05) | (pit > 0.95)).mean())
    iqr = float(((pit >= 0.25) & (pit <= 0.75)).mean())
    if not math.isfinite(log_loss):
        raise ValueError(f"{model}: non-finite log loss")
    return Score(model, log_loss, brier, tail, iqr, int(n))


def parametric_forecast(
    cdf: Callable[[FloatArray], FloatArray],
    s: FloatArray,
    log_edges: FloatArray,
    log_outcome: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """(CDF at edges, PIT) of a centred log-return model with stdev `s` per event.

    `log_edges` is ln(edge/level) per event (rows), `log_outcome` ln(outcome/level); the
    log return has mean −s²/2 (a martingale level) and standardised CDF `cdf`.
    """
    s = np.asarray(s, dtype=np.float64)
    half = 0.5 * s * s
    return cdf((log_edges + half[:, None]) / s[:, None]), cdf((log_outcome + half) / s)


def climatology_forecast(
    past: FloatArray, log_edges: FloatArray, log_outcome: FloatArray, alpha: float = 0.5
) -> tuple[FloatArray, FloatArray]:
    """(CDF at edges, PIT) from each event's trailing sample of past log returns (rows).

    Cell counts get `alpha` pseudo-counts each (add-half smoothing) so an outcome in a cell
    no past return visited costs ln(n/alpha) nats, not infinity.
    """
    past = np.asarray(past, dtype=np.float64)
    n_ev, w = past.shape
    srt = np.sort(past, axis=1)
    cnt = np.stack([np.searchsorted(srt[i], log_edges[i], side="left") for i in range(n_ev)])
    full = np.concatenate([np.zeros((n_ev, 1)), cnt, np.full((n_ev, 1), w)], axis=1)
    cells = np.diff(full, axis=1) + alpha
    cdf_cells = np.cumsum(cells / cells.sum(axis=1, keepdims=True), axis=1)[:, :-1]
    pit = (past < np.asarray(log_outcome)[:, None]).mean(axis=1)
    return cdf_cells, pit

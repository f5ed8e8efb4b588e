"""Typed, frozen, layered settings: defaults < TOML < PMBOT__SECTION__KEY env < flags.

Unknown keys are rejected; every error names the field (`sim.port`) and the reason and
becomes a `ConfigError` (the CLI exits 2). Secrets never live here: `Secrets` reads them
from the environment or key files only, and their repr is redacted.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from pmbot.errors import ConfigError

__all__ = [
    "BotSettings",
    "FeedSettings",
    "KalshiSettings",
    "LedgerSettings",
    "LoggingSettings",
    "MarketSelection",
    "MetricsSettings",
    "PolymarketSettings",
    "PricingSettings",
    "RiskSettings",
    "Secrets",
    "Settings",
    "SimSettings",
    "StrategySettings",
    "load_settings",
    "show",
]

Pos = Annotated[float, Meta(gt=0)]
NonNeg = Annotated[float, Meta(ge=0)]
Port = Annotated[int, Meta(ge=0, le=65535)]
Prob = Annotated[float, Meta(ge=0, le=0.5)]
# a limit that rounds to nothing would be refused deep in the run, after the venue was
# touched: at least one whole contract, at least one cent
Contracts = Annotated[float, Meta(ge=1)]
Dollars = Annotated[float, Meta(ge=0.01)]


class _S(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class KalshiSettings(_S):
    """`env` picks the base URLs: sim (embedded simulator), demo, prod, or custom URLs."""

    env: Literal["sim", "demo", "prod"] = "sim"
    rest_url: str | None = None
    ws_url: str | None = None
    legacy_hosts: bool = False  # use api.elections / demo-api hosts instead of external-api*
    key_file_dir: str | None = None  # a directory holding key_id + private_key.pem (sim --keys)
    presign: bool = True  # keep ready-made signatures for the write paths (presign.py)
    order_lane: bool = True  # order writes on lean keep-alive connections (venues/lane.py)


class PolymarketSettings(_S):
    """`env = "sim"` with no clob_url runs the embedded Polymarket simulator (paper trading)."""

    env: Literal["sim", "prod"] = "sim"
    clob_url: str | None = None
    ws_url: str | None = None
    gamma_url: str | None = None
    markets: list[str] = []  # condition ids or slugs to quote (sim: its markets)
    fair_value: Literal["microprice", "external"] = "microprice"
    external_probability: Annotated[float, Meta(gt=0, lt=1)] | None = None
    heartbeat_s: Annotated[float, Meta(gt=0, le=8)] = 5.0  # the venue cancels all after ~10 s
    book_reconcile_s: Pos = 5.0  # REST book check against a silently frozen feed
    sim_flow_hz: Pos = 1.0  # embedded sim: house taker orders per second
    sim_fail_every_s: NonNeg = 30.0  # embedded sim: one trade FAILS this often (0 = never)
    sim_confirm_s: NonNeg = 1.0  # embedded sim: MATCHED -> CONFIRMED after about this long


class SimSettings(_S):
    host: str = "127.0.0.1"
    port: Port = 0
    seed: int = 7
    speed: Pos = 1.0
    start: str | None = None  # ISO time of the simulated start (default: next session open)


class FeedSettings(_S):
    # auto: the simulator's own index on the embedded/external simulator, yfinance otherwise
    kind: Literal["auto", "sim", "yahoo", "synthetic", "replay"] = "auto"
    stale_after_s: Pos = 10.0
    poll_interval_s: Pos = 1.0
    replay_path: str | None = None
    seed: int = 11


class MarketSelection(_S):
    # at least one series (an empty list quoted nothing, silently, and exited 0)
    series: Annotated[list[str], Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["KXINX"]
    )
    band_points: Pos = 150.0  # quote markets whose strikes lie within this many points of the index
    max_markets: Annotated[int, Meta(ge=1, le=200)] = 12


class StrategySettings(_S):
    """Quoting, in units a trader reasons in (cents, contracts, seconds)."""

    kind: Literal["pmbot", "baseline"] = "pmbot"
    risk_aversion: NonNeg = 0.002  # CARA coefficient per $ of event payoff
    edge_cents: NonNeg = 1.0  # minimum distance of a quote from its reservation price
    adverse_selection_cents: NonNeg = 0.0  # extra edge against informed flow
    min_spread_ticks: Annotated[int, Meta(ge=1)] = 2
    quote_size: Contracts = 10.0  # contracts per quote
    no_quote_band: Prob = 0.03  # no quotes when fair value is within this of 0 or 1
    requote_tolerance_ticks: Annotated[int, Meta(ge=0)] = 1  # hysteresis
    min_rest_s: NonNeg = 0.5  # a resting quote younger than this is not repriced
    debounce_s: NonNeg = 0.25  # coalesce bursts of index ticks
    fill_pause_s: NonNeg = 1.0  # after a fill, that side of that market rests this long


class PricingSettings(_S):
    """Fair value: VIX x k on the NYSE variance clock, Student-t shape (see docs/pricing.md)."""

    shape: Literal["normal", "t4", "t6", "t8"] = "t6"
    k: Pos = 0.70  # realised / VIX-implied session vol
    vix: Pos = 16.0  # implied vol used when the feed has no VIX print
    realised_blend: bool = True  # blend today's realised variance with the implied level


class RiskSettings(_S):
    max_position_per_market: Contracts = 100.0  # contracts
    max_event_loss: Dollars = 100.0  # dollars, worst case over index outcomes
    max_event_cost: Dollars = 200.0  # dollars of capital in the event's open positions
    max_total_exposure: Dollars = 1000.0  # dollars across the account
    max_daily_loss: Dollars = 100.0  # dollars: kill switch (halt + cancel all)
    # |fair - mid| beyond this: that market goes reduce-only
    max_divergence: Annotated[float, Meta(gt=0, le=1)] = 0.15
    index_stale_s: Pos = 10.0  # no index tick for this long (market time): halt
    # the venue stream silent (no frame, no pong) this long, in wall-clock seconds: reconnect;
    # its books are stale (those markets pulled) until their new snapshots
    book_stale_s: Pos = 30.0
    reduce_before_close_s: NonNeg = 300.0  # reduce-only this long before the reference time
    pull_before_close_s: NonNeg = 5.0  # pull everything this long before it
    order_group_contracts: Contracts = 500.0  # exchange-side kill switch: contracts per 15 s


class LoggingSettings(_S):
    file: str | None = "trading.log"
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    console: bool = True
    # the file rolls over at this size, keeping `backups` old ones (trading.log.1, ...);
    # 0: never rolled by pmbot, and reopened when moved (for an external logrotate)
    max_mb: NonNeg = 100.0
    backups: Annotated[int, Meta(ge=1)] = 5  # (0 would make Python never roll the file)


class LedgerSettings(_S):
    path: str = "state/pmbot.sqlite3"


class MetricsSettings(_S):
    enabled: bool = False
    host: str = "127.0.0.1"
    port: Port = 9108


class BotSettings(_S):
    venue: Literal["kalshi", "polymarket"] = "kalshi"
    live: bool = False  # must be true to trade on a real venue (demo or prod)
    dashboard: bool = True
    reconcile_interval_s: Pos = 30.0
    adopt_unknown_orders: bool = False
    shutdown_timeout_s: Pos = 15.0
    # the longest an event waits for a decision while the rest of a burst of WebSocket
    # frames is read (the reader then gives the quote loop a turn first); 0: at once
    burst_wait_ms: NonNeg = 0.25


class Settings(_S):
    bot: BotSettings = BotSettings()
    kalshi: KalshiSettings = KalshiSettings()
    polymarket: PolymarketSettings = PolymarketSettings()
    sim: SimSettings = SimSettings()
    feed: FeedSettings = FeedSettings()
    markets: MarketSelection = MarketSelection()
    strategy: StrategySettings = StrategySettings()
    pricing: PricingSettings = PricingSettings()
    risk: RiskSettings = RiskSettings()
    logging: LoggingSettings = LoggingSettings()
    ledger: LedgerSettings = LedgerSettings()
    metrics: MetricsSettings = MetricsSettings()


_PATH = re.compile(r"at `\$\.?([^`]*)`")


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _env_layer(environ: Mapping[str, str]) -> dict[str, Any]:
    layer: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith("PMBOT__"):
            continue
        parts = [p.lower() for p in key[len("PMBOT__") :].split("__")]
        if len(parts) != 2 or not all(parts):
            raise ConfigError(key, "environment overrides take the form PMBOT__SECTION__KEY")
        v: Any = value
        if value.startswith("["):
            try:
                v = msgspec.json.decode(value)
            except msgspec.DecodeError:
                raise ConfigError(".".join(parts), f"not a JSON list: {value!r}") from None
        layer.setdefault(parts[0], {})[parts[1]] = v
    return layer


def load_settings(
    path: str | Path | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Merge the layers and validate; raises ConfigError naming the field."""
    data: dict[str, Any] = {}
    if path is not None:
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError("config", f"file not found: {p}") from None
        except tomllib.TOMLDecodeError as e:
            raise ConfigError("config", f"{p}: invalid TOML: {e}") from None
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError("config", f"{p}: cannot read a TOML text file: {e}") from None
    data = _merge(data, _env_layer(os.environ if environ is None else environ))
    if overrides:
        data = _merge(data, overrides)
    try:
        return _checked(msgspec.convert(data, Settings, strict=False))
    except msgspec.ValidationError as e:
        msg = str(e)
        m = _PATH.search(msg)
        field = m.group(1) if m else ""
        reason = _PATH.sub("", msg).rstrip(" -")
        if "unknown field" in reason:
            name = reason.split("`")[1]
            field = f"{field}.{name}" if field else name
            reason = "unknown setting"
        raise ConfigError(field or "config", reason) from None


def _checked(s: Settings) -> Settings:
    """What the types cannot say: every number finite (an infinite loss limit turns the kill
    switch off; an infinite speed or NaN crashes later), the simulated start a valid time."""
    for section in s.__struct_fields__:
        sub = getattr(s, section)
        for f in getattr(sub, "__struct_fields__", ()):
            v = getattr(sub, f)
            if isinstance(v, float) and not math.isfinite(v):
                raise ConfigError(f"{section}.{f}", "must be a finite number")
    if s.sim.start:
        try:
            datetime.fromisoformat(s.sim.start.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigError(
                "sim.start", "must be an ISO time, e.g. 2026-11-24T14:30:00Z"
            ) from None
    return s


def show(settings: Settings) -> str:
    """The merged settings as TOML that loads back to the same settings (secrets are never
    part of Settings); an unset key is a comment (TOML has no null)."""
    lines: list[str] = []
    for section in settings.__struct_fields__:
        lines.append(f"[{section}]")
        sub = getattr(settings, section)
        for f in sub.__struct_fields__:
            v = getattr(sub, f)
            lines.append(f"# {f} = (unset)" if v is None else f"{f} = {_toml_value(v)}")
        lines.append("")
    return "\n".join(lines)


def _toml_value(v: object) -> str:
    if isinstance(v, dict):
        return (
            "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(x)}" for k, x in v.items()) + "}"
        )
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return msgspec.json.encode(v).decode()  # strings, numbers, booleans: the same in TOML


class Secrets:
    """Credentials from the environment or key files only; never printed, never in argv.

    Kalshi: PMBOT_KALSHI_KEY_ID (or KALSHI_API_KEY_ID) and PMBOT_KALSHI_PRIVATE_KEY_PATH
    (or KALSHI_PRIVATE_KEY_PATH), or a key directory holding `key_id` and `private_key.pem`.
    Polymarket: PMBOT_POLY_PRIVATE_KEY (or a file named by PMBOT_POLY_PRIVATE_KEY_PATH),
    optional PMBOT_POLY_FUNDER, PMBOT_POLY_SIGNATURE_TYPE, PMBOT_POLY_API_KEY/SECRET/PASSPHRASE.
    """

    __slots__ = ("_env",)

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._env = dict(environ)

    def __repr__(self) -> str:
        return "Secrets([REDACTED])"

    def _get(self, *names: str) -> str | None:
        for n in names:
            v = self._env.get(n)
            if v:
                return v
        return None

    def kalshi_key_id(self, key_dir: str | None = None) -> str | None:
        """A configured key directory is used alone (never mixed with the environment's
        key: an id from one account and a PEM from another fail as a 401); else the
        environment."""
        if key_dir:
            f = Path(key_dir).expanduser() / "key_id"
            if not f.is_file():
                raise ConfigError("kalshi.key_file_dir", f"{key_dir}: no key_id file in it")
            try:  # utf-8-sig: a BOM left by an editor is not part of the id
                return f.read_text(encoding="utf-8-sig").strip() or None
            except UnicodeDecodeError:
                from pmbot.errors import AuthError

                raise AuthError(f"Kalshi key id file {f} is not UTF-8 text") from None
        return self._get("PMBOT_KALSHI_KEY_ID", "KALSHI_API_KEY_ID")

    def kalshi_private_key_path(self, key_dir: str | None = None) -> str | None:
        if key_dir:
            f = Path(key_dir).expanduser() / "private_key.pem"
            if not f.is_file():
                raise ConfigError("kalshi.key_file_dir", f"{key_dir}: no private_key.pem in it")
            return str(f)
        return self._get("PMBOT_KALSHI_PRIVATE_KEY_PATH", "KALSHI_PRIVATE_KEY_PATH")

    def poly_private_key(self) -> str | None:
        v = self._get("PMBOT_POLY_PRIVATE_KEY")
        if v is None:
            path = self._get("PMBOT_POLY_PRIVATE_KEY_PATH")
            if path:
                from pmbot.errors import AuthError

                p = Path(path).expanduser()
                try:
                    mode = p.stat().st_mode
                    if mode & 0o044:  # as the Kalshi PEM: never group/world-readable
                        raise AuthError(
                            f"Polymarket private key file {p} is readable by others; chmod 600 it"
                        )
                    v = p.read_text(encoding="utf-8").strip()
                except (OSError, UnicodeDecodeError) as e:
                    raise AuthError(f"Polymarket private key file {p}: {e}") from None
        return v

    def get(self, name: str) -> str | None:
        """Any other PMBOT_* secret by its full variable name."""
        return self._get(name)

    def values(self) -> list[str]:
        """The secret strings, for the log redaction filter: those set in the environment and
        the Polymarket key read from its file (the Kalshi PEM is masked by its shape)."""
        names = ("PMBOT_POLY_PRIVATE_KEY", "PMBOT_POLY_API_SECRET", "PMBOT_POLY_API_PASSPHRASE")
        out = [v for n in names if (v := self._env.get(n))]
        path = self._get("PMBOT_POLY_PRIVATE_KEY_PATH")
        if path:
            with contextlib.suppress(OSError, UnicodeDecodeError):  # the run reports it
                key = Path(path).expanduser().read_text(encoding="utf-8").strip()
                if key:
                    out.append(key)
        return out

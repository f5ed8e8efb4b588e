"""Shared plumbing of the operator commands (markets, status, cancel-all, reconcile).

Each command takes the same endpoint flags as `pmbot run` (`--config`, `--env`,
`--rest-url/--ws-url` for a running `pmbot sim`, `--key-dir`), reads keys only through
`Secrets` (environment or key directory), prints rich tables for people and one JSON object
with `--json` for scripts. `amain(args, environ)` is the async body so tests can await it
on their own loop against the in-process simulator.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from pmbot.errors import ConfigError
from pmbot.settings import Secrets, Settings, load_settings

__all__ = [
    "add_endpoint_arguments",
    "emit_json",
    "ledger_path",
    "open_venue",
    "require_kalshi",
    "settings_from_args",
]


def add_endpoint_arguments(p: argparse.ArgumentParser, *, ledger: bool = False) -> None:
    p.add_argument("--config", "-c", help="TOML config file (see config/example.toml)")
    p.add_argument("--env", choices=["sim", "demo", "prod"], help="Kalshi environment")
    p.add_argument("--rest-url", help="Kalshi REST base URL (e.g. a running `pmbot sim`)")
    p.add_argument("--ws-url", help="Kalshi WebSocket URL")
    p.add_argument(
        "--key-dir", help="directory holding key_id and private_key.pem (kalshi.key_file_dir)"
    )
    if ledger:
        p.add_argument("--ledger", help="ledger SQLite path (overrides ledger.path)")
    p.add_argument("--json", action="store_true", help="print one JSON object (for scripts)")
    p.add_argument(
        "--max-retries", type=int, help="retries of idempotent REST calls (default: client's)"
    )


def settings_from_args(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    o: dict[str, dict[str, Any]] = {}

    def put(section: str, key: str, value: Any) -> None:
        if value is not None:
            o.setdefault(section, {})[key] = value

    put("kalshi", "env", args.env)
    put("kalshi", "rest_url", args.rest_url)
    put("kalshi", "ws_url", args.ws_url)
    if args.rest_url and not args.env:
        put("kalshi", "env", "sim")
    put("kalshi", "key_file_dir", args.key_dir)
    put("ledger", "path", getattr(args, "ledger", None))
    return load_settings(args.config, environ, o)


def ledger_path(s: Settings) -> str:
    return s.ledger.path


def require_kalshi(s: Settings) -> None:
    """The account commands speak to Kalshi only (a Kalshi cancel-all "confirmed" while the
    Polymarket orders of a `bot.venue = "polymarket"` config kept resting)."""
    if s.bot.venue != "kalshi":
        raise ConfigError(
            "bot.venue",
            f"{s.bot.venue}: this command speaks to Kalshi only; a Polymarket bot cancels its "
            "orders when it stops, and the venue cancels them ~10 s after its last heartbeat",
        )


@contextlib.asynccontextmanager
async def open_venue(
    s: Settings, environ: Mapping[str, str], max_retries: int | None = None
) -> AsyncIterator[Any]:
    """A started KalshiVenue (REST only; no WebSocket) for the configured account."""
    from pmbot.venues.kalshi.signing import KalshiSigner
    from pmbot.venues.kalshi.urls import resolve_urls
    from pmbot.venues.kalshi.venue import KalshiVenue

    require_kalshi(s)
    ks = s.kalshi
    if ks.env == "sim" and not ks.rest_url:
        raise ConfigError(
            "kalshi.rest_url",
            "env=sim needs a running simulator: pass --rest-url/--ws-url of `pmbot sim`",
        )
    urls = resolve_urls(ks.env, ks.rest_url, ks.ws_url, legacy_hosts=ks.legacy_hosts)
    secrets = Secrets(environ)
    key_id = secrets.kalshi_key_id(ks.key_file_dir)
    path = secrets.kalshi_private_key_path(ks.key_file_dir)
    if not key_id or not path:
        raise ConfigError(
            "credentials",
            "Kalshi key id / private key not set (PMBOT_KALSHI_KEY_ID and "
            "PMBOT_KALSHI_PRIVATE_KEY_PATH, or --key-dir / kalshi.key_file_dir)",
        )
    opts = {} if max_retries is None else {"max_retries": max_retries}
    venue = KalshiVenue(urls, KalshiSigner.from_file(key_id, path), lambda e: None, http_opts=opts)
    try:
        await venue.start()
        yield venue
    finally:
        await venue.aclose()


def console() -> Any:
    """A rich Console; wide when not a terminal (pipes, logs) so tickers are never cut."""
    from rich.console import Console

    c = Console()
    return c if c.is_terminal else Console(width=160)


def emit_json(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")
    sys.stdout.flush()


def require_ledger(path: str) -> Path:
    p = Path(path)
    if not p.exists():
        raise ConfigError("ledger.path", f"no ledger at {p} (pass --ledger or --config)")
    return p


__all__ += ["console", "require_ledger"]

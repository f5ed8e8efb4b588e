"""Kalshi base URLs: production and demo (both host families) or any custom pair (the simulator).

Selection is by name; a custom REST/WS pair overrides it. The signature path is taken from
the base URL's own path (e.g. `/trade-api/v2`), never hard-coded, so a simulator mounted
elsewhere still verifies (unlike the official SDK, which always signs `/trade-api/v2`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from pmbot.errors import ConfigError

__all__ = [
    "DEFAULT_ENV",
    "ENVIRONMENTS",
    "KalshiUrls",
    "resolve_urls",
]


@dataclass(frozen=True, slots=True)
class KalshiUrls:
    """One REST base and one WebSocket URL; `name` says which environment they belong to."""

    rest: str
    ws: str
    name: str = "custom"
    # path of the REST base ('/trade-api/v2'): signed paths start with it (set from `rest`)
    rest_prefix: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        r, w = urlsplit(self.rest), urlsplit(self.ws)
        if r.scheme not in ("http", "https") or not r.netloc:
            raise ConfigError("kalshi.rest_url", f"not an http(s) URL: {self.rest!r}")
        if w.scheme not in ("ws", "wss") or not w.netloc:
            raise ConfigError("kalshi.ws_url", f"not a ws(s) URL: {self.ws!r}")
        object.__setattr__(self, "rest_prefix", r.path.rstrip("/"))

    @property
    def ws_path(self) -> str:
        """Path of the WS URL ('/trade-api/ws/v2'): the WS handshake signs it."""
        return urlsplit(self.ws).path or "/"

    def rest_url(self, path: str) -> str:
        """Absolute URL of a resource path like '/portfolio/balance'."""
        return self.rest.rstrip("/") + path

    def signed_path(self, path: str) -> str:
        """The path that enters the signature: prefix + resource path, no query string."""
        return self.rest_prefix + path.split("?", 1)[0]


ENVIRONMENTS: dict[str, KalshiUrls] = {
    # recommended host family since 2026-05-07
    "prod": KalshiUrls(
        "https://external-api.kalshi.com/trade-api/v2",
        "wss://external-api-ws.kalshi.com/trade-api/ws/v2",
        "prod",
    ),
    "demo": KalshiUrls(
        "https://external-api.demo.kalshi.co/trade-api/v2",
        "wss://external-api-ws.demo.kalshi.co/trade-api/ws/v2",
        "demo",
    ),
    # the older hosts: still supported, same keys and signatures
    "prod-elections": KalshiUrls(
        "https://api.elections.kalshi.com/trade-api/v2",
        "wss://api.elections.kalshi.com/trade-api/ws/v2",
        "prod-elections",
    ),
    "demo-legacy-host": KalshiUrls(
        "https://demo-api.kalshi.co/trade-api/v2",
        "wss://demo-api.kalshi.co/trade-api/ws/v2",
        "demo-legacy-host",
    ),
}
DEFAULT_ENV = "demo"


def _ws_beside(rest_url: str) -> str | None:
    base = rest_url.rstrip("/")
    for u in ENVIRONMENTS.values():  # Kalshi's own hosts: its WebSocket may live elsewhere
        if base == u.rest:
            return u.ws
    if not base.endswith("/trade-api/v2") or "://" not in base:
        return None
    scheme, rest = base.split("://", 1)
    ws_scheme = {"http": "ws", "https": "wss"}.get(scheme.lower())
    if ws_scheme is None:
        return None
    return f"{ws_scheme}://{rest.removesuffix('/trade-api/v2')}/trade-api/ws/v2"


def resolve_urls(
    env: str | None = None,
    rest_url: str | None = None,
    ws_url: str | None = None,
    *,
    legacy_hosts: bool = False,
) -> KalshiUrls:
    """Pick an environment (prod/demo, optionally the older host family) or a custom pair.

    A custom pair (both URLs) always wins; `env="sim"` requires one (the simulator's URLs).
    A REST URL ending in `/trade-api/v2` alone implies its WebSocket URL (same host,
    `ws[s]://…/trade-api/ws/v2`), as Kalshi and the simulator lay them out.
    """
    if rest_url and not ws_url:
        ws_url = _ws_beside(rest_url)
    if rest_url or ws_url:
        if not (rest_url and ws_url):
            missing = "kalshi.ws_url" if rest_url else "kalshi.rest_url"
            raise ConfigError(missing, "a custom URL pair needs both rest_url and ws_url")
        return KalshiUrls(rest_url, ws_url, env if env == "sim" else "custom")
    name = env or DEFAULT_ENV
    if name == "sim":
        raise ConfigError("kalshi.rest_url", "env=sim needs the simulator's rest_url and ws_url")
    if legacy_hosts and name in _LEGACY:
        name = _LEGACY[name]
    try:
        return ENVIRONMENTS[name]
    except KeyError:
        raise ConfigError(
            "kalshi.env", f"unknown environment {name!r}; one of {sorted(ENVIRONMENTS)}"
        ) from None


_LEGACY = {"prod": "prod-elections", "demo": "demo-legacy-host"}

"""Logging: `trading.log` plus console, in the seed's format, with secrets redacted.

Format: `2024-11-24 22:05:12,386 - INFO - message key=value ...`. Context goes into the
message as key=value pairs (`kv(ticker=..., order_id=...)`). A filter on every handler
scrubs PEM blocks, signature/HMAC-looking headers and any secret registered at start.
"""

from __future__ import annotations

import logging
import logging.handlers
import re
import sys
from collections.abc import Iterable
from pathlib import Path

__all__ = ["FORMAT", "RedactionFilter", "kv", "setup_logging"]

FORMAT = "%(asctime)s - %(levelname)s - %(message)s"

_PEM = re.compile(r"-----BEGIN [A-Z ]+-----.*?-----END [A-Z ]+-----", re.S)
_HEADERS = re.compile(
    r"(?i)((?:kalshi-access-signature|kalshi-access-key|poly_signature|poly_api_key|poly_passphrase"
    r"|authorization|signature|secret|passphrase|private_key|api_key)[\"']?\s*[:=]\s*[\"']?)([^\s\"',}]+)"
)


def kv(**ctx: object) -> str:
    """Render context as `key=value` pairs, skipping None; a value with a space, `=` or `"`
    (or an empty one) is double-quoted, so a line splits back into its pairs."""
    return " ".join(f"{k}={_val(v)}" for k, v in ctx.items() if v is not None)


def _val(v: object) -> str:
    s = str(v)
    if s and not any(c in s for c in ' ="'):
        return s
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class RedactionFilter(logging.Filter):
    """Replace secrets in the final message (args already merged) before any handler writes."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets: set[str] = set()
        for s in secrets:
            self.add_secret(s)

    def add_secret(self, secret: str) -> None:
        if secret and len(secret) >= 6:
            self._secrets.add(secret)

    def scrub(self, text: str) -> str:
        text = _PEM.sub("[REDACTED PEM]", text)
        text = _HEADERS.sub(lambda m: m.group(1) + "[REDACTED]", text)
        for s in self._secrets:
            if s in text:
                text = text.replace(s, _mask(s))
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        msg = record.getMessage()
        clean = self.scrub(msg)
        if record.exc_info and record.exc_info[1] is not None:
            exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self.scrub(exc_text)
            record.exc_info = None
        if clean != msg or record.args:
            record.msg, record.args = clean, None
        return True


def _mask(secret: str) -> str:
    """Keep a short prefix so operators can tell keys apart; never the whole value."""
    return secret[:4] + "…[REDACTED]" if len(secret) > 12 else "[REDACTED]"


def setup_logging(
    path: str | Path | None = "trading.log",
    level: str = "INFO",
    console: bool = True,
    secrets: Iterable[str] = (),
    max_bytes: int = 0,
    backups: int = 5,
) -> RedactionFilter:
    """Configure the `pmbot` logger tree; returns the redaction filter to register more secrets.

    The file rolls over at `max_bytes` keeping `backups` old files; with 0 it is never rolled
    here and is reopened when something else moves it (logrotate), so no line is lost."""
    root = logging.getLogger("pmbot")
    root.setLevel(level.upper())
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    redact = RedactionFilter(secrets)
    fmt = logging.Formatter(FORMAT)
    handlers: list[logging.Handler] = []
    if path:
        p = Path(path)
        p.parent.mkdir(parents=True, exist_ok=True)
        if max_bytes > 0:
            handlers.append(
                logging.handlers.RotatingFileHandler(
                    p, maxBytes=max_bytes, backupCount=backups, encoding="utf-8"
                )
            )
        else:
            handlers.append(logging.handlers.WatchedFileHandler(p, encoding="utf-8"))
    if console:
        handlers.append(logging.StreamHandler(sys.stderr))
    for h in handlers:
        h.setFormatter(fmt)
        h.addFilter(redact)
        root.addHandler(h)
    root.propagate = False
    return redact

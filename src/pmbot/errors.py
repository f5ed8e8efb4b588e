"""The one error tree of pmbot.

Retry by class, never by message text:

    PmbotError
    ├── ConfigError              bad settings; the CLI exits 2 naming the field
    ├── UnitError                malformed price / count / money string (edge parsing)
    ├── BookError                a book update that cannot be applied (negative level, off grid)
    ├── VenueError               anything a venue said or failed to say
    │   ├── AuthError            401/403, bad key material
    │   ├── RateLimited          429 or a client-side budget refusal
    │   ├── OrderRejected        the venue refused an order action (carries `code`)
    │   ├── NotFound             404 on a resource (order, market)
    │   ├── VenueUnavailable     5xx, network errors, timeouts, trading paused
    │   └── ProtocolViolation    a frame or body we cannot decode; a sequence gap
    ├── LedgerInUse              another process holds the ledger a bot run wants
    └── RiskHalt                 the risk layer stopped trading (carries the reason)

An outcome not confirmed by the venue is UNKNOWN until reconciliation settles it.
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "BookError",
    "ConfigError",
    "LedgerInUse",
    "LedgerTooNew",
    "NotFound",
    "OrderRejected",
    "PmbotError",
    "ProtocolViolation",
    "RateLimited",
    "RiskHalt",
    "UnitError",
    "VenueError",
    "VenueUnavailable",
]


class PmbotError(Exception):
    """Base of every error pmbot raises on purpose."""


class ConfigError(PmbotError):
    """An invalid setting; `field` names it (dotted path), `reason` says why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"config error: {field}: {reason}")
        self.field = field
        self.reason = reason


class UnitError(PmbotError, ValueError):
    """A malformed fixed-point value at the edge (price, count, money)."""


class BookError(PmbotError):
    """A book update that cannot be applied without guessing."""


class VenueError(PmbotError):
    """An error reported by (or while talking to) a venue.

    `status` is the HTTP status when there was one, `code` the venue's error code,
    `message` and `details` its text.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        details: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def __str__(self) -> str:
        parts = [self.message]
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.code:
            parts.append(f"code={self.code}")
        if self.details:
            parts.append(f"details={self.details}")
        return " ".join(parts)


class AuthError(VenueError):
    """Authentication or permission failure (401/403) or unusable key material."""


class RateLimited(VenueError):
    """The venue (429) or our own token bucket refused the request for now."""


class OrderRejected(VenueError):
    """The venue refused an order action; `code` says why (e.g. invalid_order)."""


class NotFound(VenueError):
    """The venue does not know the resource (404)."""


class VenueUnavailable(VenueError):
    """5xx, network failure, timeout, or trading paused: the outcome may be unknown."""


class ProtocolViolation(VenueError):
    """A message we cannot decode, or a broken sequence; resync, never guess."""


class RiskHalt(PmbotError):
    """The risk layer halted trading; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"risk halt: {reason}")
        self.reason = reason


class LedgerTooNew(PmbotError):
    """The ledger was written by a newer pmbot (a later schema): this version would misread
    or damage it, so it is not opened."""


class LedgerInUse(PmbotError):
    """Another process (a running bot, or `pmbot status` at that moment) holds the ledger's
    intent log: a second bot on it would take the first one's orders for its own."""

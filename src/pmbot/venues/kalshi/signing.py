"""Kalshi request signing: RSA-PSS(SHA-256, MGF1-SHA-256, salt 32) over ts_ms + METHOD + path.

The path is the full URL path from the host root including `/trade-api/v2` (or the WS path
`/trade-api/ws/v2`), without the query string; the body is not signed. Headers are fresh
for every request and every WebSocket (re)connect. Key material comes from a PEM file or
from PEM text (e.g. an environment variable read by the shell); problems are reported at
start as `AuthError` naming the file, never with key bytes in the message.
"""

from __future__ import annotations

import base64
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from pmbot.errors import AuthError

__all__ = [
    "ENV_KEY_FILE",
    "ENV_KEY_ID",
    "ENV_KEY_PEM",
    "KalshiSigner",
    "load_private_key",
    "message_to_sign",
    "signer_from_env",
]

ENV_KEY_ID = ("PMBOT_KALSHI_KEY_ID", "KALSHI_API_KEY_ID")
ENV_KEY_FILE = ("PMBOT_KALSHI_PRIVATE_KEY_PATH", "KALSHI_PRIVATE_KEY_PATH")
ENV_KEY_PEM = ("PMBOT_KALSHI_PRIVATE_KEY", "KALSHI_PRIVATE_KEY")  # PEM text, for injected secrets

_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)
_SHA256 = hashes.SHA256()


def message_to_sign(ts_ms: int, method: str, path: str) -> bytes:
    """`1703123456789GET/trade-api/v2/portfolio/balance` (query string stripped)."""
    return f"{ts_ms}{method.upper()}{path.split('?', 1)[0]}".encode()


def _load_pem(data: bytes, where: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as e:
        raise AuthError(
            f"{where}: not a readable unencrypted PEM private key ({type(e).__name__})"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise AuthError(f"{where}: not an RSA private key ({type(key).__name__})")
    return key


def load_private_key(path: str | Path, *, allow_world_readable: bool = False) -> rsa.RSAPrivateKey:
    """Load an RSA private key from a PEM file; refuse missing, unreadable, group- or world-readable."""
    p = Path(path).expanduser()
    try:
        st = p.stat()
    except FileNotFoundError:
        raise AuthError(f"Kalshi private key file {p} does not exist") from None
    except OSError as e:
        raise AuthError(f"Kalshi private key file {p} cannot be read: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise AuthError(f"Kalshi private key file {p} is not a regular file")
    if st.st_mode & (stat.S_IRGRP | stat.S_IROTH) and not allow_world_readable:
        who = "world" if st.st_mode & stat.S_IROTH else "group"
        raise AuthError(f"Kalshi private key file {p} is {who}-readable; chmod 600 it")
    try:
        data = p.read_bytes()
    except OSError as e:
        raise AuthError(f"Kalshi private key file {p} cannot be read: {e.strerror}") from None
    return _load_pem(data, f"Kalshi private key file {p}")


@dataclass(frozen=True, slots=True)
class KalshiSigner:
    """Signs requests for one API key."""

    key_id: str
    private_key: rsa.RSAPrivateKey

    def __post_init__(self) -> None:
        if not self.key_id:
            raise AuthError("Kalshi API key id is empty")

    @classmethod
    def from_pem(cls, key_id: str, pem: str | bytes) -> KalshiSigner:
        data = pem.encode() if isinstance(pem, str) else pem
        return cls(key_id, _load_pem(data, "Kalshi private key"))

    @classmethod
    def from_file(cls, key_id: str, path: str | Path) -> KalshiSigner:
        return cls(key_id, load_private_key(path))

    def sign(self, ts_ms: int, method: str, path: str) -> str:
        """Base64 signature of ts_ms + METHOD + path (no query)."""
        sig = self.private_key.sign(message_to_sign(ts_ms, method, path), _PSS, _SHA256)
        return base64.b64encode(sig).decode("ascii")

    def headers(self, ts_ms: int, method: str, path: str) -> dict[str, str]:
        """The three KALSHI-ACCESS-* headers for one request; `ts_ms` from the shell's clock."""
        return {
            "KALSHI-ACCESS-KEY": self.key_id,
            "KALSHI-ACCESS-TIMESTAMP": str(ts_ms),
            "KALSHI-ACCESS-SIGNATURE": self.sign(ts_ms, method, path),
        }

    def __repr__(self) -> str:  # never print key material
        return f"KalshiSigner(key_id={self.key_id!r})"


def _first(environ: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    for n in names:
        v = environ.get(n)
        if v:
            return v
    return None


def signer_from_env(environ: Mapping[str, str]) -> KalshiSigner:
    """Build a signer from an injected environment mapping (key id + key file or PEM text)."""
    key_id = _first(environ, ENV_KEY_ID)
    if not key_id:
        raise AuthError(f"{' or '.join(ENV_KEY_ID)} is not set")
    pem = _first(environ, ENV_KEY_PEM)
    if pem:
        return KalshiSigner.from_pem(key_id, pem)
    path = _first(environ, ENV_KEY_FILE)
    if not path:
        raise AuthError(f"none of {', '.join(ENV_KEY_FILE + ENV_KEY_PEM)} is set")
    return KalshiSigner.from_file(key_id, path)

"""A deliberately plain Kalshi client for tests: aiohttp + its own RSA-PSS signing.

It shares no code with pmbot (neither the simulator nor the bot's venue client), so a test
using it shows that a third-party client speaking the documented protocol works.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import aiohttp
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding


class RawKalshi:
    def __init__(self, rest_url: str, ws_url: str, key_id: str, pem: bytes) -> None:
        self.rest_url = rest_url.rstrip("/")
        self.ws_url = ws_url
        self.key_id = key_id
        self.key = serialization.load_pem_private_key(pem, password=None)
        self.session = aiohttp.ClientSession()
        self.prefix = "/" + self.rest_url.split("/", 3)[3]  # "/trade-api/v2"

    async def close(self) -> None:
        await self.session.close()

    def headers(
        self,
        method: str,
        path: str,
        *,
        skew_ms: int = 0,
        key_id: str | None = None,
        sign_path: str | None = None,
    ) -> dict[str, str]:
        ts = str(int(time.time() * 1000) + skew_ms)
        msg = (ts + method.upper() + (sign_path or path).split("?")[0]).encode()
        sig = self.key.sign(
            msg,
            padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH),
            hashes.SHA256(),
        )
        return {
            "KALSHI-ACCESS-KEY": key_id or self.key_id,
            "KALSHI-ACCESS-TIMESTAMP": ts,
            "KALSHI-ACCESS-SIGNATURE": base64.b64encode(sig).decode(),
        }

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        signed: bool = True,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, bytes]:
        """path is relative to /trade-api/v2, e.g. '/portfolio/balance?x=1'."""
        full = self.prefix + path
        h = dict(headers) if headers is not None else (self.headers(method, full) if signed else {})
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        url = self.rest_url.rsplit(self.prefix, 1)[0] + full
        async with self.session.request(
            method, url, data=data, headers=h, allow_redirects=False
        ) as r:
            raw = await r.read()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            return r.status, parsed, raw

    async def get(self, path: str, **kw: Any) -> tuple[int, Any, bytes]:
        return await self.request("GET", path, **kw)

    async def ws(self) -> aiohttp.ClientWebSocketResponse:
        path = "/" + self.ws_url.split("/", 3)[3]
        return await self.session.ws_connect(
            self.ws_url, headers=self.headers("GET", path), autoping=True
        )

"""Polymarket signing: L1 EIP-712 ClobAuth, L2 HMAC headers, CLOB V2 order build + sign.

Pure: the caller passes the timestamp (seconds for L1/L2, milliseconds for orders) and
the salt. Orders are hashed directly (the V2 order struct has only static fields, so the
EIP-712 struct hash is keccak of 12 fixed 32-byte words) and signed with libsecp256k1
(coincurve, RFC 6979 like eth-account, so the signature is byte-identical to the SDK's).
`order_typed_data` gives the same order as a generic EIP-712 message for verifiers.

Amounts are exact integers: a Price (1e-4 $) times a Qty (1e-2 shares) is 1e-6 units,
which is exactly the token/pUSD base unit, so limit orders need no rounding at all once
the price sits on the tick and the size on 2 decimals (protocol doc §3.2).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import coincurve
from eth_hash.auto import keccak
from eth_utils.address import to_checksum_address

from pmbot.core.money import Price, Qty
from pmbot.errors import OrderRejected
from pmbot.venues.polymarket.convert import (  # re-exported: amounts are part of signing
    TICK_ROUNDING,
    limit_amounts,
    market_amounts,
    tick_units,
)
from pmbot.venues.polymarket.urls import CONTRACTS, POLYGON

__all__ = [
    "BYTES32_ZERO",
    "CLOB_AUTH_MESSAGE",
    "TICK_ROUNDING",
    "ApiCreds",
    "BuiltOrder",
    "OrderSigner",
    "SignatureType",
    "clob_auth_typed_data",
    "l1_headers",
    "l2_headers",
    "l2_signature",
    "limit_amounts",
    "market_amounts",
    "order_body",
    "order_typed_data",
    "tick_units",
]

BYTES32_ZERO = "0x" + "00" * 32
CLOB_AUTH_MESSAGE = "This message attests that I control the given wallet"
BUY, SELL = 0, 1


class SignatureType(IntEnum):
    EOA = 0
    POLY_PROXY = 1
    GNOSIS_SAFE = 2
    POLY_1271 = 3


@dataclass(frozen=True, slots=True)
class ApiCreds:
    api_key: str
    secret: str
    passphrase: str

    def __repr__(self) -> str:  # never print secrets
        return f"ApiCreds(api_key={self.api_key!r}, secret=***, passphrase=***)"


# ---- L1 -------------------------------------------------------------------------------------
def clob_auth_typed_data(address: str, timestamp: int, nonce: int, chain_id: int) -> dict[str, Any]:
    """The EIP-712 ClobAuth message (domain has no verifyingContract)."""
    return {
        "primaryType": "ClobAuth",
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
            ],
            "ClobAuth": [
                {"name": "address", "type": "address"},
                {"name": "timestamp", "type": "string"},
                {"name": "nonce", "type": "uint256"},
                {"name": "message", "type": "string"},
            ],
        },
        "domain": {"name": "ClobAuthDomain", "version": "1", "chainId": chain_id},
        "message": {
            "address": address,
            "timestamp": str(timestamp),
            "nonce": nonce,
            "message": CLOB_AUTH_MESSAGE,
        },
    }


_CLOB_AUTH_TYPEHASH = keccak(
    b"ClobAuth(address address,string timestamp,uint256 nonce,string message)"
)
_AUTH_DOMAIN_TYPEHASH = keccak(b"EIP712Domain(string name,string version,uint256 chainId)")


def _w(v: int) -> bytes:
    return v.to_bytes(32, "big")


def _addr(a: str) -> bytes:
    return bytes.fromhex(a[2:] if a.startswith(("0x", "0X")) else a).rjust(32, b"\0")


def _b32(h: str) -> bytes:
    b = bytes.fromhex(h[2:] if h.startswith(("0x", "0X")) else h)
    if len(b) > 32:
        raise ValueError(f"not a bytes32: {h!r}")
    return b.rjust(32, b"\0")


def _sign(key: coincurve.PrivateKey, digest: bytes) -> bytes:
    sig = key.sign_recoverable(digest, hasher=None)
    return sig[:64] + bytes((sig[64] + 27,))


def l1_headers(
    key: coincurve.PrivateKey, address: str, timestamp: int, nonce: int = 0, chain_id: int = POLYGON
) -> dict[str, str]:
    """POLY_* headers for /auth/api-key and /auth/derive-api-key."""
    dom = keccak(_AUTH_DOMAIN_TYPEHASH + keccak(b"ClobAuthDomain") + keccak(b"1") + _w(chain_id))
    struct = keccak(
        _CLOB_AUTH_TYPEHASH
        + _addr(address)
        + keccak(str(timestamp).encode())
        + _w(nonce)
        + keccak(CLOB_AUTH_MESSAGE.encode())
    )
    sig = _sign(key, keccak(b"\x19\x01" + dom + struct))
    return {
        "POLY_ADDRESS": address,
        "POLY_SIGNATURE": "0x" + sig.hex(),
        "POLY_TIMESTAMP": str(timestamp),
        "POLY_NONCE": str(nonce),
    }


# ---- L2 -------------------------------------------------------------------------------------
def l2_signature(
    secret: str, timestamp: int, method: str, path: str, body: bytes | str | None
) -> str:
    """URL-safe base64 HMAC-SHA256 of ts + METHOD + path (no query) + exact body bytes."""
    msg = f"{timestamp}{method}{path}".encode()
    if body:
        msg += body.encode() if isinstance(body, str) else body
    digest = hmac.new(base64.urlsafe_b64decode(secret), msg, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()


def l2_headers(
    address: str,
    creds: ApiCreds,
    timestamp: int,
    method: str,
    path: str,
    body: bytes | str | None = None,
) -> dict[str, str]:
    return {
        "POLY_ADDRESS": address,
        "POLY_SIGNATURE": l2_signature(creds.secret, timestamp, method, path, body),
        "POLY_TIMESTAMP": str(timestamp),
        "POLY_API_KEY": creds.api_key,
        "POLY_PASSPHRASE": creds.passphrase,
    }


# ---- V2 order ---------------------------------------------------------------------------------
ORDER_TYPE = (
    "Order(uint256 salt,address maker,address signer,uint256 tokenId,uint256 makerAmount,"
    "uint256 takerAmount,uint8 side,uint8 signatureType,uint256 timestamp,bytes32 metadata,"
    "bytes32 builder)"
)
_ORDER_TYPEHASH = keccak(ORDER_TYPE.encode())
_DOMAIN_TYPEHASH = keccak(
    b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
)
_EXCHANGE_NAME = "Polymarket CTF Exchange"
_TDS_TYPEHASH = keccak(
    (
        "TypedDataSign(Order contents,string name,string version,uint256 chainId,"
        "address verifyingContract,bytes32 salt)" + ORDER_TYPE
    ).encode()
)
_ORDER_FIELDS = [
    {"name": "salt", "type": "uint256"},
    {"name": "maker", "type": "address"},
    {"name": "signer", "type": "address"},
    {"name": "tokenId", "type": "uint256"},
    {"name": "makerAmount", "type": "uint256"},
    {"name": "takerAmount", "type": "uint256"},
    {"name": "side", "type": "uint8"},
    {"name": "signatureType", "type": "uint8"},
    {"name": "timestamp", "type": "uint256"},
    {"name": "metadata", "type": "bytes32"},
    {"name": "builder", "type": "bytes32"},
]


def exchange_for(chain_id: int, neg_risk: bool, version: int = 2) -> str:
    c = CONTRACTS[chain_id]
    if version == 3:
        return c.exchange_v3
    return c.neg_risk_exchange_v2 if neg_risk else c.exchange_v2


def domain_separator(chain_id: int, contract: str, version: int = 2) -> bytes:
    return keccak(
        _DOMAIN_TYPEHASH
        + keccak(_EXCHANGE_NAME.encode())
        + keccak(str(version).encode())
        + _w(chain_id)
        + _addr(contract)
    )


def order_typed_data(
    order: Mapping[str, Any], chain_id: int, contract: str, version: int = 2
) -> dict[str, Any]:
    """A wire order (strings as sent) as a generic EIP-712 message, for verifiers."""
    return {
        "primaryType": "Order",
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "Order": _ORDER_FIELDS,
        },
        "domain": {
            "name": _EXCHANGE_NAME,
            "version": str(version),
            "chainId": chain_id,
            "verifyingContract": contract,
        },
        "message": {
            "salt": int(order["salt"]),
            "maker": order["maker"],
            "signer": order["signer"],
            "tokenId": int(order["tokenId"]),
            "makerAmount": int(order["makerAmount"]),
            "takerAmount": int(order["takerAmount"]),
            "side": BUY if order["side"] in ("BUY", 0) else SELL,
            "signatureType": int(order["signatureType"]),
            "timestamp": int(order["timestamp"]),
            "metadata": _b32(order["metadata"]),
            "builder": _b32(order["builder"]),
        },
    }


@dataclass(frozen=True, slots=True)
class BuiltOrder:
    """A signed V2 order: `wire` is the `order` object of POST /order, `order_id` its hash."""

    order_id: str
    wire: dict[str, Any]


class OrderSigner:
    """Signs V2 orders for one key, signature type and funder (maker).

    For types 0-2 the signer is the key's address and the maker the funder (the EOA for
    type 0, the proxy or Safe for 1 and 2). For type 3 (POLY_1271, deposit wallet) the
    signer and maker are the deposit wallet, and the signature is the ERC-7739
    TypedDataSign wrapper around the key's ECDSA signature.
    """

    def __init__(
        self,
        private_key: bytes | str,
        chain_id: int = POLYGON,
        signature_type: SignatureType = SignatureType.EOA,
        funder: str | None = None,
    ) -> None:
        if isinstance(private_key, str):
            private_key = bytes.fromhex(private_key.removeprefix("0x"))
        self._key = coincurve.PrivateKey(private_key)
        pub = self._key.public_key.format(compressed=False)[1:]
        self.address = to_checksum_address(keccak(pub)[-20:])
        self.chain_id = chain_id
        self.signature_type = SignatureType(signature_type)
        if self.signature_type is not SignatureType.EOA and not funder:
            raise ValueError("signature types 1-3 need the funder address")
        self.funder = to_checksum_address(funder) if funder else self.address
        self.order_signer = (
            self.funder if self.signature_type is SignatureType.POLY_1271 else self.address
        )
        self._maker_w = _addr(self.funder)
        self._signer_w = _addr(self.order_signer)
        self._domains: dict[tuple[bool, int], bytes] = {}

    @property
    def key(self) -> coincurve.PrivateKey:
        return self._key

    def l1_headers(self, timestamp: int, nonce: int = 0) -> dict[str, str]:
        return l1_headers(self._key, self.address, timestamp, nonce, self.chain_id)

    def _domain(self, neg_risk: bool, version: int) -> bytes:
        d = self._domains.get((neg_risk, version))
        if d is None:
            d = domain_separator(
                self.chain_id, exchange_for(self.chain_id, neg_risk, version), version
            )
            self._domains[(neg_risk, version)] = d
        return d

    def sign(
        self,
        *,
        token_id: str,
        side: int,
        maker_amount: int,
        taker_amount: int,
        salt: int,
        timestamp_ms: int,
        neg_risk: bool = False,
        expiration: int = 0,
        metadata: str = BYTES32_ZERO,
        builder: str = BYTES32_ZERO,
        version: int = 2,
    ) -> BuiltOrder:
        st = int(self.signature_type)
        struct = keccak(
            _ORDER_TYPEHASH
            + _w(salt)
            + self._maker_w
            + self._signer_w
            + _w(int(token_id))
            + _w(maker_amount)
            + _w(taker_amount)
            + _w(side)
            + _w(st)
            + _w(timestamp_ms)
            + _b32(metadata)
            + _b32(builder)
        )
        dom = self._domain(neg_risk, version)
        digest = keccak(b"\x19\x01" + dom + struct)
        if self.signature_type is SignatureType.POLY_1271:
            sig = self._sign_1271(dom, struct)
        else:
            sig = _sign(self._key, digest)
        wire = {
            "salt": salt,
            "maker": self.funder,
            "signer": self.order_signer,
            "tokenId": str(token_id),
            "makerAmount": str(maker_amount),
            "takerAmount": str(taker_amount),
            "side": "BUY" if side == BUY else "SELL",
            "expiration": str(expiration),
            "signatureType": st,
            "timestamp": str(timestamp_ms),
            "metadata": metadata,
            "builder": builder,
            "signature": "0x" + sig.hex(),
        }
        return BuiltOrder("0x" + digest.hex(), wire)

    def _sign_1271(self, dom: bytes, contents: bytes) -> bytes:
        tds = keccak(
            _TDS_TYPEHASH
            + contents
            + keccak(b"DepositWallet")
            + keccak(b"1")
            + _w(self.chain_id)
            + self._signer_w
            + b"\0" * 32
        )
        inner = _sign(self._key, keccak(b"\x19\x01" + dom + tds))
        t = ORDER_TYPE.encode()
        return inner + dom + contents + t + len(t).to_bytes(2, "big")

    def limit(
        self,
        *,
        token_id: str,
        side: int,
        price: Price,
        size: Qty,
        tick: str,
        salt: int,
        timestamp_ms: int,
        neg_risk: bool = False,
        expiration: int = 0,
        market: bool = False,
    ) -> BuiltOrder:
        """`size` shares at `price` or better. `market`: a FOK/FAK order, whose amounts are
        those the venue accepts for market orders: a BUY names the pUSD to spend (`price` x
        `size`, cut to 2 dp, so it may buy a hair less than `size`), a SELL the shares."""
        if market:
            # Price (1e-4 $) x Qty (1e-2 shares) is 1e-6 pUSD; shares: 1e-2 -> 1e-6
            amount_e6 = price * size if side == 0 else size * 10_000
            maker, taker = market_amounts(side, amount_e6, price, tick)
        else:
            maker, taker = limit_amounts(side, price, size, tick)
        return self.sign(
            token_id=token_id,
            side=side,
            maker_amount=maker,
            taker_amount=taker,
            salt=salt,
            timestamp_ms=timestamp_ms,
            neg_risk=neg_risk,
            expiration=expiration,
        )


def order_body(
    order: BuiltOrder,
    owner: str,
    order_type: str = "GTC",
    *,
    post_only: bool = False,
    defer_exec: bool = False,
) -> dict[str, Any]:
    """The POST /order envelope (key order as the SDK sends it)."""
    if post_only and order_type in ("FOK", "FAK"):
        # refused here as the venue would (before a request, and typed for the port)
        raise OrderRejected("post-only is valid only with GTC/GTD", code="invalid_order")
    return {
        "order": order.wire,
        "owner": owner,
        "orderType": order_type,
        "deferExec": defer_exec,
        "postOnly": post_only,
    }

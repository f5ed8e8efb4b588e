"""What the Polymarket simulator checks before it acts: L1 ClobAuth, L2 HMAC, order signatures.

Verification goes through eth-account's generic EIP-712 path (`encode_typed_data` +
recover), independent of the connector's hand-rolled hashing in venues/polymarket/signing.py,
so a bug there shows up as a refused order instead of being mirrored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_abi import encode as abi_encode
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_hash.auto import keccak
from eth_keys.datatypes import Signature
from eth_utils.address import to_checksum_address

from pmbot.venues.polymarket.signing import (
    ORDER_TYPE,
    clob_auth_typed_data,
    domain_separator,
    exchange_for,
    order_typed_data,
)

__all__ = ["AuthFail", "KeyRecord", "derive_key", "recover_order", "verify_hmac", "verify_l1"]


class AuthFail(Exception):
    """A request the simulator refuses; `status` and `text` are what it answers."""

    def __init__(self, text: str, status: int = 401) -> None:
        super().__init__(text)
        self.text = text
        self.status = status


@dataclass(frozen=True, slots=True)
class KeyRecord:
    address: str
    nonce: int
    api_key: str
    secret: str
    passphrase: str


def derive_key(address: str, nonce: int, salt: str = "pmbot-sim") -> KeyRecord:
    """Deterministic credentials per (address, nonce), like the venue's derive endpoint."""
    seed = hashlib.sha256(f"{salt}:{address.lower()}:{nonce}".encode()).digest()
    return KeyRecord(
        address=to_checksum_address(address),
        nonce=nonce,
        api_key=str(uuid.UUID(bytes=seed[:16], version=4)),
        secret=base64.urlsafe_b64encode(hashlib.sha256(seed + b"s").digest()).decode(),
        passphrase=hashlib.sha256(seed + b"p").hexdigest()[:32],
    )


def _ts(headers: Mapping[str, str], now_s: int, window_s: int) -> int:
    raw = headers.get("POLY_TIMESTAMP", "")
    if not raw.isdigit():
        raise AuthFail("Unauthorized/Invalid api key")
    ts = int(raw)
    if abs(ts - now_s) > window_s:
        raise AuthFail("Unauthorized/Invalid api key")
    return ts


def verify_l1(
    headers: Mapping[str, str], chain_id: int, now_s: int, window_s: int = 300
) -> tuple[str, int]:
    """(checksummed address, nonce) when the ClobAuth signature recovers POLY_ADDRESS."""
    addr, sig = headers.get("POLY_ADDRESS", ""), headers.get("POLY_SIGNATURE", "")
    nonce_s = headers.get("POLY_NONCE", "0") or "0"
    ts = _ts(headers, now_s, window_s)
    if not addr or not sig or not nonce_s.isdigit():
        raise AuthFail("Invalid L1 Request headers")
    try:
        msg = encode_typed_data(full_message=clob_auth_typed_data(addr, ts, int(nonce_s), chain_id))
        rec = Account.recover_message(msg, signature=sig)
    except Exception:
        raise AuthFail("Invalid L1 Request headers") from None
    if rec.lower() != addr.lower():
        raise AuthFail("Invalid L1 Request headers")
    return to_checksum_address(addr), int(nonce_s)


def verify_hmac(
    headers: Mapping[str, str],
    method: str,
    path: str,
    body: bytes,
    keys_by_api: Mapping[str, KeyRecord],
    now_s: int,
    window_s: int = 300,
) -> KeyRecord:
    """The key record of a correctly HMAC-signed L2 request."""
    rec = keys_by_api.get(headers.get("POLY_API_KEY", ""))
    ts = _ts(headers, now_s, window_s)
    if rec is None or headers.get("POLY_PASSPHRASE") != rec.passphrase:
        raise AuthFail("Unauthorized/Invalid api key")
    if headers.get("POLY_ADDRESS", "").lower() != rec.address.lower():
        raise AuthFail("Unauthorized/Invalid api key")
    msg = f"{ts}{method}{path}".encode() + body
    want = base64.urlsafe_b64encode(
        hmac.new(base64.urlsafe_b64decode(rec.secret), msg, hashlib.sha256).digest()
    ).decode()
    if not hmac.compare_digest(want, headers.get("POLY_SIGNATURE", "")):
        raise AuthFail("Unauthorized/Invalid api key")
    return rec


def recover_order(
    order: Mapping[str, Any], chain_id: int, neg_risk: bool, version: int = 2
) -> tuple[str, str]:
    """(order hash, recovered owner address) of a V2 wire order; AuthFail 400 when unreadable.

    Types 0-2 recover the plain EIP-712 signature. Type 3 (POLY_1271) unwraps the ERC-7739
    TypedDataSign blob, checks its domain and contents against the order, and recovers the
    deposit wallet's owner.
    """
    contract = exchange_for(chain_id, neg_risk, version)
    try:
        td = order_typed_data(order, chain_id, contract, version)
        msg = encode_typed_data(full_message=td)
        order_hash = "0x" + keccak(b"\x19" + msg.version + msg.header + msg.body).hex()
        sig = bytes.fromhex(str(order["signature"]).removeprefix("0x"))
        if int(order["signatureType"]) != 3:
            if len(sig) != 65:
                raise ValueError("signature length")
            return order_hash, Account.recover_message(msg, signature=sig)
        return order_hash, _recover_1271(sig, msg.header, msg.body, td, chain_id, contract, version)
    except AuthFail:
        raise
    except Exception:
        raise AuthFail("invalid signature", 400) from None


def _recover_1271(
    sig: bytes,
    header: bytes,
    contents: bytes,
    td: dict[str, Any],
    chain_id: int,
    contract: str,
    version: int,
) -> str:
    t = ORDER_TYPE.encode()
    if (
        len(sig) != 65 + 64 + len(t) + 2
        or sig[-2:] != len(t).to_bytes(2, "big")
        or sig[129:-2] != t
    ):
        raise ValueError("not an ERC-7739 order signature")
    app_dom, cont = sig[65:97], sig[97:129]
    if (
        app_dom != domain_separator(chain_id, contract, version)
        or app_dom != header
        or cont != contents
    ):
        raise ValueError("wrapped domain or contents differ from the order")
    tds_type = keccak(
        (
            "TypedDataSign(Order contents,string name,string version,uint256 chainId,"
            "address verifyingContract,bytes32 salt)" + ORDER_TYPE
        ).encode()
    )
    tds = keccak(
        abi_encode(
            ["bytes32", "bytes32", "bytes32", "bytes32", "uint256", "address", "bytes32"],
            [
                tds_type,
                cont,
                keccak(b"DepositWallet"),
                keccak(b"1"),
                chain_id,
                td["message"]["signer"],
                b"\0" * 32,
            ],
        )
    )
    digest = keccak(b"\x19\x01" + app_dom + tds)
    v = sig[64] - 27 if sig[64] >= 27 else sig[64]
    pub = Signature(signature_bytes=sig[:64] + bytes((v,))).recover_public_key_from_msg_hash(digest)
    return str(pub.to_checksum_address())

"""trading.log: the seed's line format, key=value context, and redaction of secrets."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from pmbot.logs import kv, setup_logging

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - (INFO|WARNING|ERROR|DEBUG) - .+$")

PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAsecretsecret\n-----END RSA PRIVATE KEY-----"


def test_format_context_and_redaction(tmp_path: Path) -> None:
    log_file = tmp_path / "trading.log"
    key_id = "a952bcbe-ec3b-4b5b-b8f9-11dae589608c"
    redact = setup_logging(log_file, "INFO", console=False, secrets=[key_id])
    log = logging.getLogger("pmbot.test")
    log.info(
        "order placed %s",
        kv(ticker="KXINX-26NOV24H1600-B6612", order_id="o1", client_order_id="c1"),
    )
    log.info(
        "headers %s",
        {"KALSHI-ACCESS-KEY": key_id, "KALSHI-ACCESS-SIGNATURE": "c2lnbmF0dXJlYmFzZTY0=="},
    )
    log.warning("loaded key %s for %s", PEM, key_id)
    redact.add_secret("hmac-secret-value")
    try:
        raise ValueError("bad secret hmac-secret-value")
    except ValueError:
        log.exception("boom")
    for h in logging.getLogger("pmbot").handlers:
        h.flush()
    text = log_file.read_text()
    first = text.splitlines()[0]
    assert LINE.match(first), first
    assert "ticker=KXINX-26NOV24H1600-B6612 order_id=o1 client_order_id=c1" in first
    assert key_id not in text
    assert "c2lnbmF0dXJlYmFzZTY0" not in text
    assert "MIIEow" not in text
    assert "hmac-secret-value" not in text
    assert "a952" in text  # a short prefix stays so operators can tell keys apart


def test_kv_quotes_values_that_would_not_split_back() -> None:
    import shlex

    line = kv(error="Cannot connect to host x:443", summary="fixes=0 cancel=1", q='a "b"', n=3)
    assert (
        line == 'error="Cannot connect to host x:443" summary="fixes=0 cancel=1" q="a \\"b\\"" n=3'
    )
    pairs = dict(p.split("=", 1) for p in shlex.split(line))
    assert pairs == {"error": "Cannot connect to host x:443", "summary": "fixes=0 cancel=1",
                     "q": 'a "b"', "n": "3"}  # fmt: skip


def test_the_run_registers_the_environments_secrets_with_the_filter(tmp_path) -> None:
    import logging

    from pmbot.logs import setup_logging
    from pmbot.settings import Secrets

    secret = "s3cr3t-passphrase-value"
    env = {"PMBOT_POLY_API_PASSPHRASE": secret, "PMBOT_POLY_API_KEY": "not-secret-id"}
    assert Secrets(env).values() == [secret]
    path = tmp_path / "t.log"
    setup_logging(path, "INFO", console=False, secrets=Secrets(env).values())
    logging.getLogger("pmbot.test").info("request body had %s in it", secret)
    for h in logging.getLogger("pmbot").handlers:
        h.flush()
    text = path.read_text()
    setup_logging(None, "INFO", console=False)  # detach the file handler again
    assert "request body had" in text and secret not in text


def test_the_log_file_rolls_over_or_follows_an_external_rotation(tmp_path) -> None:
    """Regression (review): trading.log was never rotated (about 1 MB a quiet night), and a
    logrotate that renamed it sent every later line into the renamed file."""
    import logging

    from pmbot.logs import setup_logging

    log = logging.getLogger("pmbot.test_rotation")
    p = tmp_path / "trading.log"
    setup_logging(p, console=False, max_bytes=2_000, backups=2)
    for i in range(200):
        log.info("line %d %s", i, "x" * 40)
    assert p.stat().st_size <= 2_000
    assert sorted(x.name for x in tmp_path.iterdir()) == [
        "trading.log",
        "trading.log.1",
        "trading.log.2",
    ]
    for f in tmp_path.iterdir():
        f.unlink()
    setup_logging(p, console=False)  # max_bytes 0: an external logrotate moves the file
    log.info("before")
    p.rename(tmp_path / "trading.log.1")
    log.info("after")
    assert "after" in p.read_text() and "after" not in (tmp_path / "trading.log.1").read_text()
    setup_logging(None, console=False)  # close the handlers

"""A user's mistakes end in one line naming what is wrong, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from pmbot.app_shell import require_live_for_remote
from pmbot.cli import main
from pmbot.errors import ConfigError
from pmbot.settings import load_settings


@pytest.mark.parametrize(
    "env,field",
    [
        ({"PMBOT__RISK__MAX_DAILY_LOSS": "inf"}, "risk.max_daily_loss"),
        ({"PMBOT__SIM__SPEED": "nan"}, "sim.speed"),
        ({"PMBOT__SIM__START": "garbage"}, "sim.start"),
    ],
)
def test_values_the_types_let_through_are_refused(env: dict[str, str], field: str) -> None:
    with pytest.raises(ConfigError) as e:
        load_settings(None, environ=env)
    assert e.value.field == field


def test_a_config_that_is_not_a_text_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        load_settings(tmp_path, environ={})
    (tmp_path / "b.toml").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError):
        load_settings(tmp_path / "b.toml", environ={})


def test_a_simulator_url_off_this_machine_needs_the_live_confirmation() -> None:
    require_live_for_remote({"kalshi.rest_url": "http://127.0.0.1:8000/trade-api/v2"}, False)
    require_live_for_remote({"kalshi.rest_url": "http://localhost:1/x", "w": None}, False)
    with pytest.raises(ConfigError) as e:
        require_live_for_remote({"kalshi.rest_url": "https://api.elections.kalshi.com/x"}, False)
    assert e.value.field == "bot.live"
    require_live_for_remote({"kalshi.rest_url": "https://api.elections.kalshi.com/x"}, True)


def test_bad_flags_and_a_garbage_ledger_are_one_line(tmp_path: Path, capsys) -> None:
    with pytest.raises(SystemExit) as e:
        main(["run", "--speed", "inf"])
    assert e.value.code == 2
    bad = tmp_path / "g.sqlite3"
    bad.write_text("not a database")
    assert main(["status", "--ledger", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err and "not a database" in err


@pytest.mark.slow
def test_an_explicit_ledger_on_the_embedded_simulator(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """`--ledger PATH` on the embedded simulator writes PATH (it used to be ignored for a
    `sim-*` file beside it); a second run on the same PATH is refused in one line, since the
    new exchange would know none of the first run's orders."""
    monkeypatch.chdir(tmp_path)
    led = tmp_path / "mine.sqlite3"
    argv = ["run", "--no-dashboard", "--duration", "3", "--speed", "30", "--ledger", str(led)]
    assert main(argv) == 0
    assert led.stat().st_size > 0 and not list(tmp_path.glob("**/sim-*.sqlite3"))
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "ledger.path" in err and str(led) in err


def test_a_ray_sweep_without_ray_is_one_line(capsys) -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("Ray is installed here")
    cfg = Path(__file__).resolve().parents[1] / "config" / "backtest.toml"
    assert main(["backtest", str(cfg), "--sweep", "--ray", "local"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "pmbot[ray]" in err


@pytest.mark.parametrize(
    "env,field",
    [
        ({"PMBOT__RISK__MAX_POSITION_PER_MARKET": "0.001"}, "risk.max_position_per_market"),
        ({"PMBOT__RISK__MAX_POSITION_PER_MARKET": "0.5"}, "risk.max_position_per_market"),
        ({"PMBOT__RISK__MAX_DAILY_LOSS": "0.0000001"}, "risk.max_daily_loss"),
        ({"PMBOT__STRATEGY__QUOTE_SIZE": "0.001"}, "strategy.quote_size"),
    ],
)
def test_limits_that_round_to_nothing_are_refused_at_load(env: dict[str, str], field: str) -> None:
    """They passed `> 0` and failed deep in the run, after the venue was touched (exit 1)."""
    with pytest.raises(ConfigError) as e:
        load_settings(None, environ=env)
    assert e.value.field == field


def test_speed_on_polymarket_is_refused_not_ignored(capsys) -> None:
    assert main(["run", "--venue", "polymarket", "--speed", "20", "--duration", "1"]) == 2
    assert "--speed" in capsys.readouterr().err


@pytest.mark.parametrize(
    "flags", [["--record", "rec"], ["--metrics-port", "0"], ["--compare"]], ids=lambda f: f[0]
)
def test_kalshi_only_flags_on_polymarket_are_refused_not_ignored(flags, capsys, tmp_path) -> None:
    """Regression (review): --record, --metrics-port and --compare were silently ignored on
    a Polymarket run (no recording, no endpoint), unlike --speed, which was refused."""
    args = ["run", "--venue", "polymarket", "--duration", "1", *flags]
    if flags[0] == "--record":
        args[-1] = str(tmp_path / "rec")
    assert main(args) == 2
    assert flags[0] in capsys.readouterr().err
    assert not (tmp_path / "rec").exists()


def test_metrics_enabled_in_the_config_is_refused_on_polymarket_too(capsys, tmp_path) -> None:
    """Regression (review): refusing --metrics-port left `[metrics] enabled = true` in the
    config silently ignored on a Polymarket run."""
    cfg = tmp_path / "c.toml"
    cfg.write_text("[metrics]\nenabled = true\n")
    assert main(["run", "-c", str(cfg), "--venue", "polymarket", "--duration", "1"]) == 2
    assert "metrics.enabled" in capsys.readouterr().err


def test_a_summary_json_path_in_no_directory_is_refused_before_the_run(capsys, tmp_path) -> None:
    """Regression (review): the run traded and stopped cleanly, then writing the summary
    failed: it was neither written nor printed, exit 1. The path is checked first."""
    out = tmp_path / "no-such-dir" / "s.json"
    assert main(["run", "--duration", "1", "--summary-json", str(out)]) == 2
    assert "--summary-json" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["calibrate", "--nu", "2"], "--nu"),
        (["calibrate", "--start", "notadate"], "--start"),
        (["calibrate", "--clim-window", "-5"], "--clim-window"),
        (["calibrate", "--start", "2018-01-01", "--end", "2017-01-01"], "--end"),
    ],
)
def test_bad_calibrate_flags_are_one_config_error(args, field, capsys) -> None:
    """Regression (review): these ended in a traceback (`--nu 2`, a bad date) or printed a
    nonsense row with exit 0 (a negative window)."""
    assert main(args) == 2
    assert field in capsys.readouterr().err


def test_a_backtest_window_that_ends_before_it_starts_is_refused(tmp_path, capsys) -> None:
    cfg = tmp_path / "bt.toml"
    cfg.write_text("[data]\nstart_s = 23000\nend_s = 22000\n")  # was an IndexError traceback
    assert main(["backtest", str(cfg)]) == 2
    assert "data.end_s" in capsys.readouterr().err


def test_markets_honours_max_retries_like_the_other_venue_commands(tmp_path, caplog) -> None:
    """Regression (review): `markets --max-retries N` was ignored (always the client's 5
    retries, ~6 s against a dead venue); `cancel-all` and `reconcile` honoured it."""
    import logging
    import os

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    kd = tmp_path / "keys"
    kd.mkdir()
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (kd / "private_key.pem").write_bytes(pem)
    os.chmod(kd / "private_key.pem", 0o600)
    (kd / "key_id").write_text("abc")
    caplog.set_level(logging.DEBUG, logger="pmbot")
    dead = "http://127.0.0.1:1/trade-api/v2"  # nothing listens: every call is refused
    args = ["--rest-url", dead, "--key-dir", str(kd), "--max-retries", "0"]
    assert main(["markets", *args]) == 1
    assert not [r for r in caplog.records if "network error method" in r.getMessage()]


@pytest.mark.parametrize("cmd", ["cancel-all", "reconcile", "markets"])
def test_the_kalshi_account_commands_refuse_a_polymarket_config(cmd, tmp_path, capsys) -> None:
    """Regression (review): with `bot.venue = "polymarket"` they spoke to Kalshi (with
    Kalshi keys set, a cancel-all said "confirmed" while the Polymarket orders rested)."""
    cfg = tmp_path / "c.toml"
    cfg.write_text('[bot]\nvenue = "polymarket"\n')
    assert main([cmd, "-c", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "bot.venue" in err and "Kalshi only" in err

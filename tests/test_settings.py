"""Config: layering, typed validation, errors naming the field, exit code 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pmbot.cli import main
from pmbot.errors import ConfigError
from pmbot.settings import Secrets, load_settings

ROOT = Path(__file__).parents[1]


def test_example_config_is_valid_and_matches_defaults() -> None:
    s = load_settings(ROOT / "config" / "example.toml", environ={})
    assert s == load_settings(None, environ={})


def test_layers(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[sim]\nseed = 3\nspeed = 2.0\n[markets]\nseries = ["KXINXU"]\n')
    s = load_settings(cfg, environ={"PMBOT__SIM__SPEED": "60"}, overrides={"sim": {"port": 8123}})
    assert (s.sim.seed, s.sim.speed, s.sim.port) == (3, 60.0, 8123)
    assert s.markets.series == ["KXINXU"]


@pytest.mark.parametrize(
    "toml,field",
    [
        ("[sim]\nport = 70000\n", "sim.port"),
        ("[sim]\nspeed = -1\n", "sim.speed"),
        ("[strategy]\nkind = 'yolo'\n", "strategy.kind"),
        ("[risk]\nmax_daily_loss = 'lots'\n", "risk.max_daily_loss"),
        ("[risk]\nmax_daily_los = 5\n", "risk.max_daily_los"),
        ("[nope]\nx = 1\n", "nope"),
    ],
)
def test_bad_value_names_the_field(tmp_path: Path, toml: str, field: str) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(toml)
    with pytest.raises(ConfigError) as e:
        load_settings(cfg, environ={})
    assert e.value.field == field


def test_secrets_never_in_settings_and_redacted(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[kalshi]\nprivate_key = 'x'\n")
    with pytest.raises(ConfigError):
        load_settings(cfg, environ={})
    s = Secrets({"PMBOT_KALSHI_KEY_ID": "abcd-1234-secret"})
    assert s.kalshi_key_id() == "abcd-1234-secret"
    assert "abcd" not in repr(s)


def test_cli_config_error_exit_2_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[sim]\nport = 'eighty'\n")
    assert main(["show-config", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "sim.port" in err


def test_cli_process_exit_code(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text("[risk]\nmax_divergence = 3\n")
    r = subprocess.run(
        [sys.executable, "-m", "pmbot.cli", "show-config", "-c", str(cfg)],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert "risk.max_divergence" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_polymarket_section(tmp_path: Path) -> None:
    import pytest

    from pmbot.errors import ConfigError

    cfg = tmp_path / "p.toml"
    cfg.write_text(
        '[bot]\nvenue = "polymarket"\n[polymarket]\nmarkets = ["will-it-rain"]\n'
        'fair_value = "external"\nexternal_probability = 0.3\nheartbeat_s = 4\n'
    )
    s = load_settings(cfg, environ={"PMBOT__POLYMARKET__SIM_FLOW_HZ": "3"})
    p = s.polymarket
    assert (p.fair_value, p.external_probability, p.heartbeat_s, p.sim_flow_hz) == (
        "external",
        0.3,
        4.0,
        3.0,
    )
    with pytest.raises(ConfigError) as e:
        load_settings(None, environ={}, overrides={"polymarket": {"heartbeat_s": 12}})
    assert e.value.field == "polymarket.heartbeat_s"
    with pytest.raises(ConfigError):
        load_settings(None, environ={}, overrides={"polymarket": {"external_probability": 1.0}})


def test_show_config_output_loads_back_to_the_same_settings(tmp_path: Path) -> None:
    """Its output is TOML a user can keep as a config (`rest_url = null` was not TOML)."""
    from pmbot.settings import show

    s = load_settings(
        None,
        environ={"PMBOT__POLYMARKET__MARKETS": '["0xabc"]'},
        overrides={"kalshi": {"env": "demo"}, "risk": {"max_daily_loss": 42.5}},
    )
    cfg = tmp_path / "shown.toml"
    cfg.write_text(show(s))
    assert load_settings(cfg, environ={}) == s


def test_key_files_that_are_unreadable_or_too_open_are_one_auth_error(tmp_path: Path) -> None:
    """Regression (review): a UTF-16 key_id file (Notepad) raised a traceback and a BOM stayed
    inside the id; a group/world-readable Polymarket key file was taken silently (a Kalshi
    PEM is refused), and its content was not redacted from the logs."""
    from pmbot.errors import AuthError

    kd = tmp_path / "keys"
    kd.mkdir()
    (kd / "key_id").write_text("abcd-1234", encoding="utf-16")
    with pytest.raises(AuthError, match="not UTF-8"):
        Secrets({}).kalshi_key_id(str(kd))
    (kd / "key_id").write_text("abcd-1234\n", encoding="utf-8-sig")
    assert Secrets({}).kalshi_key_id(str(kd)) == "abcd-1234"

    key = "0x" + "ab" * 32
    f = tmp_path / "poly.key"
    f.write_text(key + "\n")
    f.chmod(0o644)
    env = {"PMBOT_POLY_PRIVATE_KEY_PATH": str(f)}
    with pytest.raises(AuthError, match="chmod 600"):
        Secrets(env).poly_private_key()
    f.chmod(0o600)
    assert Secrets(env).poly_private_key() == key
    assert key in Secrets(env).values()  # the redaction filter masks it
    with pytest.raises(AuthError, match=r"poly\.missing"):
        Secrets({"PMBOT_POLY_PRIVATE_KEY_PATH": str(tmp_path / "poly.missing")}).poly_private_key()


def test_an_empty_series_list_is_refused(tmp_path: Path) -> None:
    """Regression (review): `markets.series = []` was accepted; the bot quoted nothing and
    exited 0 without a word."""
    cfg = tmp_path / "c.toml"
    cfg.write_text("[markets]\nseries = []\n")
    with pytest.raises(ConfigError) as e:
        load_settings(cfg, environ={})
    assert e.value.field == "markets.series"


def test_log_rotation_keeps_at_least_one_backup(tmp_path: Path) -> None:
    """Regression (review): `logging.backups = 0` passed, and Python's rotating handler then
    never rolls over: the file grew without bound (`max_mb = 0` is the documented off)."""
    cfg = tmp_path / "c.toml"
    cfg.write_text("[logging]\nbackups = 0\n")
    with pytest.raises(ConfigError) as e:
        load_settings(cfg, environ={})
    assert e.value.field == "logging.backups"


def test_a_key_directory_is_used_alone_and_a_wrong_one_is_named(tmp_path: Path) -> None:
    """Regression (review): with a stale PMBOT_KALSHI_KEY_ID exported, --key-dir was ignored
    for the id (or mixed: the environment's id, the directory's PEM) and the venue said 401;
    a --key-dir that does not exist was reported as "key id not set"."""
    kd = tmp_path / "keys"
    kd.mkdir()
    (kd / "key_id").write_text("dir-key-id\n")
    (kd / "private_key.pem").write_text("-----BEGIN PRIVATE KEY-----\n")
    env = Secrets({"PMBOT_KALSHI_KEY_ID": "env-key-id", "PMBOT_KALSHI_PRIVATE_KEY_PATH": "/x"})
    assert env.kalshi_key_id(str(kd)) == "dir-key-id"
    assert env.kalshi_private_key_path(str(kd)) == str(kd / "private_key.pem")
    assert env.kalshi_key_id() == "env-key-id"  # no directory: the environment
    with pytest.raises(ConfigError, match="no key_id") as e:
        env.kalshi_key_id(str(tmp_path / "nowhere"))
    assert e.value.field == "kalshi.key_file_dir"

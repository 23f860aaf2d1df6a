"""Configuration: the hierarchy merges in the documented order; every bad input is a clear error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from arbcore.config import load_config
from arbcore.config.loader import masked
from arbcore.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2] / "config"


def _write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.parametrize("name", ["system.toml", "test_system.toml", "production_system.toml"])
def test_every_bundled_configuration_loads(name: str) -> None:
    config = load_config(ROOT / name, {})
    assert config.system.mode == "shadow"  # live is never the default
    assert config.sources[0].endswith("system.toml")
    assert set(config.costs) == {"binance", "okx", "htx", "bybit", "kucoin", "gateio", "kraken",
                                 "bitfinex"}  # fmt: skip


def test_the_hierarchy_merges_base_then_override_then_environment(tmp_path: Path) -> None:
    _write(
        tmp_path,
        "system.toml",
        "[risk]\nmax_position_usd = 100\nmax_open_orders = 3\n"
        '[logging]\nlevel = "INFO"\n[venues.binance]\nsymbols = ["BTC/USDT", "ETH/USDT"]\n',
    )
    _write(
        tmp_path,
        "test_system.toml",
        'extends = "system.toml"\n[risk]\nmax_open_orders = 5\n'
        '[venues.binance]\nsymbols = ["ETH/BTC"]\n',
    )
    _write(tmp_path, "system_limits.toml", "max_memory_gb = 8\n")
    config = load_config(tmp_path, {"SYSTEM_ENV": "test", "ARBCORE_LOG": "debug",
                                    "MAX_MEMORY_GB": "1.5"})  # fmt: skip
    risk = config.system.risk
    assert (risk.max_position_usd, risk.max_open_orders) == (100.0, 5)  # tables merge by key
    assert config.system.venues["binance"].symbols == ("ETH/BTC",)  # lists are replaced
    assert config.system.logging.level == "DEBUG"  # the environment wins
    assert config.limits.max_memory_gb == 1.5
    assert [Path(s).name for s in config.sources] == ["system.toml", "test_system.toml"]


BAD = [
    ("unknown top-level key", "modee = 'live'\n", "modee", "unknown key"),
    ("unknown nested key", "[risk]\nmax_positon_usd = 5\n", "risk.max_positon_usd", "unknown key"),
    ("string for a number", "[risk]\nmax_daily_loss_usd = '500'\n", "risk.max_daily_loss_usd",
     "expected a number, was '500'"),
    ("float for an integer", "[risk]\nmax_open_orders = 2.5\n", "risk.max_open_orders",
     "expected an integer"),
    ("bool for a number", "[risk]\nstop_loss_pct = true\n", "risk.stop_loss_pct",
     "expected a number"),
    ("negative limit", "[risk]\nmax_daily_loss_usd = -1\n", "risk.max_daily_loss_usd",
     "greater than 0"),
    ("fraction above one", "[risk]\nmax_correlation_risk = 1.5\n", "risk.max_correlation_risk",
     "between 0 and 1"),
    ("unknown choice", "mode = 'yolo'\n", "mode", "one of 'shadow', 'live'"),
    ("scalar for a table", "risk = 5\n", "risk", "expected a table"),
    ("list item of the wrong type", "[venues.okx]\nsymbols = ['BTC/USDT', 3]\n",
     "venues.okx.symbols[1]", "expected a string"),
    ("extends not a string", "extends = 3\n", "extends", "expected a file name"),
    ("string for a switch", "busy_poll = 'yes'\n", "busy_poll", "expected true or false"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "text", "key", "reason"), BAD, ids=[b[0] for b in BAD])
def test_every_bad_input_names_the_file_the_key_and_the_reason(
    tmp_path: Path, case: str, text: str, key: str, reason: str
) -> None:
    path = _write(tmp_path, "system.toml", text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, {})
    error = caught.value
    assert error.file == str(path)
    assert error.key == key
    assert reason in str(error)


def test_busy_poll_is_off_unless_asked(tmp_path: Path) -> None:
    assert load_config(_write(tmp_path, "a/system.toml", ""), {}).system.busy_poll is False
    on = load_config(_write(tmp_path, "b/system.toml", "busy_poll = true\n"), {})
    assert on.system.busy_poll is True


def test_a_bad_value_in_the_base_names_the_base_file(tmp_path: Path) -> None:
    base = _write(tmp_path, "system.toml", "[risk]\nmax_open_orders = -2\n")
    override = _write(tmp_path, "prod.toml", 'extends = "system.toml"\nmode = "shadow"\n')
    with pytest.raises(ConfigError) as caught:
        load_config(override, {})
    assert (caught.value.file, caught.value.key) == (str(base), "risk.max_open_orders")


def test_files_that_cannot_be_read_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "missing.toml", {})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(_write(tmp_path, "bad.toml", "mode = \n"), {})
    _write(tmp_path, "a.toml", 'extends = "b.toml"\n')
    _write(tmp_path, "b.toml", 'extends = "a.toml"\n')
    with pytest.raises(ConfigError, match="loops back"):
        load_config(tmp_path / "a.toml", {})
    _write(tmp_path, "system.toml", "")
    _write(tmp_path, "system_limits.toml", "max_exchanges = 0\n")
    with pytest.raises(ConfigError, match="max_exchanges"):
        load_config(tmp_path / "system.toml", {})
    with pytest.raises(ConfigError, match="MAX_MEMORY_GB"):
        load_config(_write(tmp_path, "ok/system.toml", ""), {"MAX_MEMORY_GB": "lots"})


def test_check_config_output_masks_anything_secret(tmp_path: Path) -> None:
    text = '[venues.binance]\nrest_url = "https://user:hunter2@example.test/api"\n'
    path = _write(tmp_path, "system.toml", text)
    shown = repr(masked(load_config(path, {})))
    assert "hunter2" not in shown
    assert "example.test" in shown


def test_check_config_command_prints_the_merged_result_or_the_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from arbcore.cli import main

    assert main(["check-config", str(ROOT / "test_system.toml")]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["system"]["sim"]["seed"] == 7
    assert shown["system"]["mode"] == "shadow"
    bad = _write(tmp_path, "system.toml", "[risk]\nmax_open_orders = 'many'\n")
    assert main(["check-config", str(bad)]) == 2
    assert "risk.max_open_orders" in capsys.readouterr().err

"""``arbcore sim``: starts, prints loopback endpoints, refuses what it cannot run."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

from arbcore.cli import main


def test_arbcore_sim_prints_loopback_endpoints() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "arbcore", "sim", "--venues", "binance",
         "--symbols", "BTC/USDT,ETH/USDT,ETH/BTC", "--seed", "7", "--duration", "0.3"],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0].split()
    assert first[0] == "binance"
    assert first[2].startswith("http://127.0.0.1:")
    assert first[4].startswith("ws://127.0.0.1:")
    assert first[4].endswith("/stream")
    assert "arbcore-sim-key" in result.stdout


@pytest.mark.parametrize(
    "arguments",
    [["--venues", "nowhere"], ["--symbols", "NOPE/USDT"], ["--port", "binance=x"]],
)
def test_arbcore_sim_refuses_an_unusable_configuration(
    arguments: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["sim", *arguments, "--duration", "0"]) == 2
    assert capsys.readouterr().err.startswith("arbcore sim: ")


def test_arbcore_sim_stops_on_ctrl_c() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "arbcore", "sim", "--symbols", "BTC/USDT"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert process.stdout.readline().startswith("binance")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
    finally:
        process.kill()
        process.communicate()

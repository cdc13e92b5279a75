"""``twin3d view`` and ``twin3d demo`` on a port in use: one line, exit 2, nothing loaded."""

from __future__ import annotations

import socket
import subprocess
import sys

import pytest

from conftest import ROOT, SCENES


def run_cli(*args, timeout=60):
    return subprocess.run([sys.executable, "-m", "twin3d", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def busy_port():
    """A port with a listening socket on 127.0.0.1 (what another server holds)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


@pytest.mark.parametrize("command", [["view", SCENES / "helsinki.toml"], ["demo"]])
def test_port_in_use_is_one_line_before_loading(busy_port, command, tmp_path):
    args = [*command, "--port", busy_port]
    if command[0] == "demo":
        args += ["-o", tmp_path / "out"]
    res = run_cli(*args)
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1, res.stderr
    assert f"127.0.0.1:{busy_port}" in lines[0] and "in use" in lines[0] and "--port" in lines[0]
    assert "Traceback" not in res.stderr
    # nothing was built: the check runs before the scene is loaded (that takes 5 s or more)
    assert not (tmp_path / "out").exists()


def test_port_out_of_range(cli_in_process):
    res = cli_in_process("view", "--port", 70000)
    assert res.returncode == 2
    assert "0..65535" in res.stderr and len(res.stderr.strip().splitlines()) == 1


def test_check_port_free_and_busy(busy_port):
    from twin3d.cli_view import check_port
    from twin3d.errors import InputError
    check_port("127.0.0.1", 0)
    with pytest.raises(InputError, match="in use"):
        check_port("127.0.0.1", busy_port)

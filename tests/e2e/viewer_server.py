"""What the browser tests share: Chromium's flags and a ``twin3d view`` server on a free port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
#: SwiftShader gives WebGL without a GPU; without it a blank canvas could pass.
CHROMIUM_ARGS = ["--no-sandbox", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
                 "--disable-background-networking", "--disable-component-update", "--no-first-run"]
#: The Helsinki build takes ~5 s under TR 38.901, plus ~40 s of CPU for the geometric
#: model's 30 cell maps (issue 13; none when the session's radio cache holds them already);
#: a slow CI machine gets room.
SERVER_READY_S = 300


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(scene: str, stderr_path: Path | None = None, env: dict | None = None):
    """Run ``twin3d view SCENE`` on a free port until the generator is closed; yields its URL.

    Its stderr goes to ``stderr_path`` when given (else it is merged into the
    stdout the readiness line is read from).
    """
    port = free_port()
    env = {**(os.environ if env is None else env), "PYTHONUNBUFFERED": "1"}
    err = open(stderr_path, "w") if stderr_path is not None else None
    proc = subprocess.Popen([sys.executable, "-m", "twin3d", "view", scene, "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=err if err is not None else subprocess.STDOUT, text=True)
    lines: list[str] = []

    def said() -> str:
        return "".join(lines) + (Path(stderr_path).read_text() if stderr_path else "")

    deadline = time.monotonic() + SERVER_READY_S
    try:
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                if proc.poll() is not None:
                    break
                continue
            lines.append(line)
            if line.startswith("twin3d viewer: http://"):
                break
        else:
            pytest.fail("viewer not ready in time:\n" + said())
        if proc.poll() is not None:
            pytest.fail("viewer exited:\n" + said())
        yield f"http://127.0.0.1:{port}/"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        if err is not None:
            err.close()

"""The set-up contract: `kabinet demo` on a fresh directory, and `kabinet serve`'s refusals."""

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request

import pytest

from kabinet.cli import production_problem


def test_serve_refuses_debug():
    problem = production_problem({"DEBUG": "true", "SECRET_KEY": "x" * 50})
    assert problem is not None and "DEBUG" in problem


@pytest.mark.parametrize(
    "key", ["", "short", "demo-" + "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "a" * 60]
)
def test_serve_refuses_a_missing_weak_or_demo_secret_key(key):
    problem = production_problem({"SECRET_KEY": key})
    assert problem is not None and "SECRET_KEY" in problem


def test_serve_refuses_the_test_bank():
    key = "k3Jd9-Qp2LmZx7Vt0RbNw4YsHc8GfUe1AoIi6PjTl5"
    problem = production_problem({"SECRET_KEY": key, "PHARMA_PAYMENT_PROVIDER": "test"})
    assert problem is not None and "PHARMA_PAYMENT_PROVIDER" in problem
    assert production_problem({"SECRET_KEY": key, "PHARMA_PAYMENT_PROVIDER": "yookassa"}) is None


def test_serve_accepts_a_real_key():
    assert production_problem({"SECRET_KEY": "k3Jd9-Qp2LmZx7Vt0RbNw4YsHc8GfUe1AoIi6PjTl5"}) is None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _kabinet(tmp_path, *args, **popen):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DJANGO_SETTINGS_MODULE"}
        and not key.startswith("KABINET_")
    }
    env["KABINET_VAR_DIR"] = str(tmp_path / "var")
    return subprocess.Popen(
        [sys.executable, "-m", "kabinet.cli", "demo", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **popen,
    )


def test_demo_starts_serves_stops_on_ctrl_c_and_is_idempotent(tmp_path):
    port = _free_port()
    demo = _kabinet(tmp_path, "--port", str(port))
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert demo.poll() is None, demo.stdout.read()
                assert time.monotonic() < deadline, "the demo did not come up in 120 s"
                time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            assert "Личный кабинет" in r.read().decode()
        demo.send_signal(signal.SIGINT)
        output, _ = demo.communicate(timeout=20)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert demo.returncode == 0, output
    assert f"http://127.0.0.1:{port}/admin/" in output
    assert "kabinet-demo" in output

    database = tmp_path / "var" / "kabinet.sqlite3"
    key = (tmp_path / "var" / "secret_key").read_text()

    def counts():
        with sqlite3.connect(database) as db:
            return [
                db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608
                for table in ("accounts_user", "geo_region", "geo_city")
            ]

    first = counts()
    again = _kabinet(tmp_path, "--no-serve")
    output, _ = again.communicate(timeout=120)
    assert again.returncode == 0, output
    assert counts() == first
    assert (tmp_path / "var" / "secret_key").read_text() == key

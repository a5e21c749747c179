"""The machine under the benchmark: processes we start, the CPU each group used, the facts.

CPU is read from /proc while a load runs, every quarter second, so that processes which
exit before the end (pgbench's database backends, the load generator itself) are still
counted up to their last sample.
"""

from __future__ import annotations

import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

_CLK_TCK = os.sysconf("SC_CLK_TCK")

#: pid → (command name, parent pid, CPU ticks used so far)
Processes = dict[int, tuple[str, int, int]]


def processes() -> Processes:
    found: Processes = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            raw = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        # After the name: state, ppid (stat field 4) … utime, stime (fields 14 and 15).
        found[int(entry.name)] = (name, int(fields[1]), int(fields[11]) + int(fields[12]))
    return found


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values[:8]) - idle, sum(values[:8])


def tree(procs: Processes, root: int | None) -> set[int]:
    """`root` and all its descendants among `procs`."""
    if root is None:
        return set()
    members = {root}
    grew = True
    while grew:
        grew = False
        for pid, (_name, ppid, _ticks) in procs.items():
            if ppid in members and pid not in members:
                members.add(pid)
                grew = True
    return members & procs.keys()


def postgres_processes(procs: Processes) -> set[int]:
    return {pid for pid, (name, _ppid, _ticks) in procs.items() if name.startswith("postgres")}


class CpuMeter:
    """Cores each group of processes used during a `with` block (1.0 = one core busy).

    "machine" is the whole machine's busy time, and "other" what no group accounts for:
    anything else running on the shared machine at the same time.
    """

    def __init__(self, groups: dict[str, Callable[[Processes], set[int]]]) -> None:
        self.groups = groups
        self.used: dict[str, float] = {}
        self._stop = threading.Event()
        self._sampler = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> CpuMeter:
        self._before = processes()
        self._seen = dict(self._before)
        self._machine_before = machine_ticks()
        self._started = time.monotonic()
        self._sampler.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.25):
            self._seen.update(processes())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sampler.join()
        self._seen.update(processes())
        elapsed = max(time.monotonic() - self._started, 1e-6)
        busy, total = machine_ticks()
        for name, select in self.groups.items():
            ticks = 0
            for pid in select(self._seen):
                name_now, _ppid, ticks_now = self._seen[pid]
                before = self._before.get(pid)
                same = before is not None and before[0] == name_now
                ticks += ticks_now - (before[2] if same and before else 0)
            self.used[name] = ticks / _CLK_TCK / elapsed
        cores = os.cpu_count() or 1
        machine = (busy - self._machine_before[0]) / max(total - self._machine_before[1], 1)
        self.used["machine"] = machine * cores
        self.used["other"] = max(0.0, self.used["machine"] - sum(self.used[n] for n in self.groups))


# ------------------------------------------------------------------------------ processes


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop(proc: subprocess.Popen[Any] | None) -> None:
    """Stop a process we started in its own session, and everything it started."""
    if proc is None or proc.poll() is not None:
        return
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_ready(url: str, proc: subprocess.Popen[Any], log: Path, timeout: float = 90) -> str | None:
    """None once `url` answers 200, else why not (the server exited, or time ran out)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"the server exited ({proc.returncode}):\n{tail(log)}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 — loopback
                if response.status == 200:
                    return None
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    return f"the server was not ready after {timeout:.0f} s:\n{tail(log)}"


def start_server(
    *, env: dict[str, str], work: Path, workers: int, threads: int
) -> tuple[subprocess.Popen[Any], str]:
    """`kabinet serve` on a free loopback port, in its own session (so that `stop` takes its
    workers too), and its base URL once /readyz answers; RuntimeError with the log's tail if
    it never does."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "kabinet.cli", "serve", "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--workers", str(workers), "--threads", str(threads)]
    log = work / "server.log"
    with log.open("w") as log_file:
        proc = subprocess.Popen(  # noqa: S603 — our own argv
            cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    problem = wait_ready(base_url + "/readyz", proc, log)
    if problem:
        stop(proc)
        raise RuntimeError(problem)
    return proc, base_url


def facts(postgres_version: str | None) -> list[str]:
    """nproc, CPU model, memory, PostgreSQL, Python, granian, wrk — for the report."""
    found = [f"nproc {os.cpu_count()}"]
    with suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                found.append(line.split(":", 1)[1].strip())
                break
    with suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        found.append(f"{kb / 1024 / 1024:.0f} GiB RAM")
    if postgres_version:
        found.append(f"PostgreSQL {postgres_version}")
    found.append(f"Python {platform.python_version()}")
    with suppress(Exception):
        from importlib.metadata import version

        found.append(f"granian {version('granian')}")
    wrk = shutil.which("wrk")
    if wrk:
        with suppress(OSError, subprocess.SubprocessError):
            head = subprocess.run(  # noqa: S603 — a fixed argv
                [wrk, "--version"], capture_output=True, text=True, timeout=5, check=False
            ).stdout.split()
            found.append(f"wrk {head[1] if len(head) > 1 else '?'}")
    return found

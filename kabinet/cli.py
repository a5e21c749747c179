"""The `kabinet` command.

    kabinet demo     migrate, load demo data, run the web server and the job worker together
    kabinet serve    the production web server (granian, threads capped)
    kabinet worker   the background job worker alone
    kabinet <django command> ...   e.g. `kabinet migrate`, `kabinet createsuperuser`

Every other project command (`kabinet cards issue`, `kabinet pos terminal create`,
`kabinet loyalty reconcile`, `kabinet bench pos`) is a Django management command, so it
appears in `kabinet help` like Django's own.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

SETTINGS = "kabinet.config.settings"
# Keys that must never run a real deployment: the demo's is generated per machine but lives
# in a file anyone on the machine can read, and tests use a fixed one.
_DEMO_KEY_PREFIX = "demo-"


def _var_dir() -> Path:
    return Path(os.environ.get("KABINET_VAR_DIR", Path.cwd() / "var")).resolve()


def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    import django

    django.setup()


def _demo_environment() -> None:
    """Settings for a single-machine demo over plain HTTP on the embedded database."""
    var = _var_dir()
    var.mkdir(parents=True, exist_ok=True)
    key_file = var / "secret_key"
    if not key_file.exists():
        key_file.write_text(_DEMO_KEY_PREFIX + secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    os.environ.setdefault("SECRET_KEY", key_file.read_text().strip())
    os.environ.setdefault("KABINET_VAR_DIR", str(var))
    os.environ.setdefault("KABINET_HTTPS", "false")
    os.environ.setdefault("KABINET_OUTBOX", "true")
    os.environ.setdefault("LOG_FORMAT", "text")


def _granian_command(host: str, port: int, *, workers: int, threads: int) -> list[str]:
    from django.conf import settings

    return [
        sys.executable,
        "-m",
        "granian",
        "--interface",
        "wsgi",
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        # Each blocking thread may hold a database connection: cap them (ARCHITECTURE).
        "--blocking-threads",
        str(threads),
        "--backpressure",
        str(threads * 4),
        "--static-path-route",
        settings.STATIC_URL.rstrip("/"),
        "--static-path-mount",
        str(settings.STATIC_ROOT),
        "--no-access-log",
        "kabinet.config.wsgi:application",
    ]


def _run_children(commands: list[list[str]]) -> int:
    """Run processes side by side; stop all of them when one dies or on Ctrl-C / SIGTERM."""
    children = [subprocess.Popen(cmd) for cmd in commands]  # noqa: S603 — our own argv
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    code = 0
    try:
        while not stopping:
            for child in children:
                if child.poll() is not None:
                    code = child.returncode or 0
                    stopping = True
                    break
            time.sleep(0.2)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 10
        for child in children:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
    return code


def demo(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="kabinet demo", description=demo.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument(
        "--no-serve", action="store_true", help="prepare the database and demo data, then exit"
    )
    args = parser.parse_args(argv)

    _demo_environment()
    _setup_django()
    from django.core.management import call_command

    from kabinet.core.demo_loader import load_demo_data

    print("Подготовка базы данных…", flush=True)
    call_command("migrate", interactive=False, verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    lines = load_demo_data()
    if args.no_serve:
        return 0

    base = f"http://{args.host}:{args.port}"
    print()
    print("Кабинет запущен (Ctrl-C — остановить):")
    print(f"  сайт               {base}/")
    print(f"  бэк-офис           {base}/admin/")
    print(f"  исходящие          {base}/dev/outbox/")
    for line in lines:
        print(f"  {line}")
    print(flush=True)
    return _run_children(
        [
            _granian_command(args.host, args.port, workers=1, threads=4),
            [sys.executable, "-m", "kabinet.cli", "worker"],
        ]
    )


def serve(argv: list[str]) -> int:
    """The production server. Settings come from the environment only."""
    parser = argparse.ArgumentParser(prog="kabinet serve", description=serve.__doc__)
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    # A worker process per core: one runs Python on one core at a time (the GIL); its
    # threads overlap the waits for PostgreSQL. 2 × 4 threads hold as many connections as
    # the 1 × 8 this started with, and served search 30 % faster on 2 cores (README).
    cores = str(os.cpu_count() or 1)
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", cores)))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "4")))
    args = parser.parse_args(argv)

    problem = production_problem(os.environ)
    if problem:
        print(f"kabinet serve: {problem}", file=sys.stderr)
        return 2
    _setup_django()
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    cmd = _granian_command(args.host, args.port, workers=args.workers, threads=args.threads)
    os.execv(cmd[0], cmd)  # noqa: S606 — replace this process: signals go straight to granian


def production_problem(environ: os._Environ[str] | dict[str, str]) -> str | None:
    """Why these settings must not serve real traffic, or None."""
    if environ.get("DEBUG", "").strip().lower() in {"1", "true", "yes", "on"}:
        return "DEBUG включён: в рабочем режиме он запрещён (DEBUG is on)."
    if environ.get("PHARMA_PAYMENT_PROVIDER", "").strip() == "test":
        return (
            "встроенный тестовый банк (PHARMA_PAYMENT_PROVIDER=test) позволяет любому «оплатить» "
            "заказ: в рабочем режиме он запрещён (the test bank is for the demo only)."
        )
    key = environ.get("SECRET_KEY", "")
    if len(key) < 40 or key.startswith(_DEMO_KEY_PREFIX) or len(set(key)) < 10:
        return (
            "нужен настоящий SECRET_KEY (не короче 40 символов, не демонстрационный) — "
            "a real SECRET_KEY is required."
        )
    return None


def worker(argv: list[str]) -> int:
    """The background job worker (notification delivery and other jobs) and the periodic
    jobs' scheduler (kabinet.core.periodic)."""
    _setup_django()
    from django.core.management import call_command

    from kabinet.core import periodic

    stop = periodic.start_scheduler()
    try:
        call_command("db_worker", *argv)
    finally:
        stop.set()
    return 0


def _local_install() -> bool:
    """No SECRET_KEY and no DATABASE_URL: the single-machine demo install in `var/`."""
    return not os.environ.get("SECRET_KEY") and not os.environ.get("DATABASE_URL")


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv else "help"
    if command not in {"demo", "serve"} and _local_install():
        # `kabinet createsuperuser` and friends act on the demo's database with its settings.
        _demo_environment()
    if command == "demo":
        return demo(argv[1:])
    if command == "serve":
        return serve(argv[1:])
    if command == "worker":
        return worker(argv[1:])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", SETTINGS)
    from django.core.management import execute_from_command_line

    execute_from_command_line(["kabinet", *argv])
    return 0


if __name__ == "__main__":
    sys.exit(main())

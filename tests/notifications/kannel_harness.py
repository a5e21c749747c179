"""A real Kannel for tests: bearerbox + smsbox, with fakesmsc playing the operator's SMSC.

    from tests.notifications.kannel_harness import kannel_factory_fixture, kannel_fixture

    def test_something(kannel_factory):
        kannel = kannel_factory()                    # or kannel_factory(sms_service_url=...)
        settings.KABINET_NOTIFY = {**settings.KABINET_NOTIFY, **kannel.notify_settings()}
        ...send an SMS...
        sms = kannel.wait_for_mt(to="+79161234567")  # what the "operator" received: FakeSms
        kannel.inject_mo("+79161234567", "9002", "1234567890123456 Иван 01.02.1990")

The fixtures are `kannel_factory` (call it, with `KannelHarness` keyword arguments, for a
started Kannel; any number per test) and `kannel` (one with no sms-service URL). Import them
into a test module or a conftest.py (`# noqa: F401`) to use them. The class works without
pytest too: `with KannelHarness(tmpdir, ...) as kannel:`.

Every harness lives in its own temporary directory with its own free ports on 127.0.0.1:
`kannel.conf`, the boxes' log files and fakesmsc's output are all there, and the fixture
prints their tails when the test fails. Teardown stops every process (SIGTERM, then SIGKILL)
whatever the test did. Missing binaries skip the test, except under `CI=true`: then it fails.

fakesmsc quirks the harness hides:

* It reads MO lines from stdin with `select()` + `fgets()` and looks at bearerbox's socket
  only between stdin events or after a 1 s `select()` timeout. Through a pipe, several lines
  can sit in stdio's buffer where `select()` does not see them; so stdin is a pseudo-terminal
  (one line per `read()`), and `wait_for_mt` writes empty lines ("pokes") to make fakesmsc
  read what bearerbox delivered at once instead of within a second.
* It logs each message it receives ("Got message N: <sender receiver type data>") at DEBUG
  level on stderr: type `text` is 7-bit text as is (UTF-8: Kannel's internal form), `ucs-2`
  is URL-encoded UTF-16BE, and the parts of a concatenated message are "udh UDH data BYTES",
  whatever their coding. `FakeSms` decodes them; a 7-bit text with a newline arrives as one
  line per line of text, which the harness joins back.
* An MO line is at most 255 bytes (fakesmsc's stdin buffer); non-ASCII text goes as `ucs2`
  (URL-encoded UTF-16BE), which fits roughly 40 Cyrillic characters.
* It crashes (double free) on stdin EOF or SIGINT, so it is stopped with SIGTERM.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import signal
import socket
import subprocess
import sys
import termios
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Self

import pytest

BEARERBOX = os.environ.get("KANNEL_BEARERBOX", "/usr/sbin/bearerbox")
SMSBOX = os.environ.get("KANNEL_SMSBOX", "/usr/sbin/smsbox")
FAKESMSC = os.environ.get("KANNEL_FAKESMSC", "/usr/lib/kannel/test/fakesmsc")
HOST = "127.0.0.1"
FAKESMSC_MAX_LINE = 255  # fakesmsc reads stdin with fgets() into a 256-byte buffer

_GOT_MESSAGE = re.compile(r"Got message \d+: <(?P<line>.*)>\s*$")


def missing_binaries() -> list[str]:
    return [path for path in (BEARERBOX, SMSBOX, FAKESMSC) if not _is_executable(path)]


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def require_kannel() -> None:
    """Skip the calling test when Kannel is not installed; fail instead under CI=true."""
    missing = missing_binaries()
    if not missing:
        return
    reason = (
        f"Kannel is not installed ({', '.join(missing)} missing): "
        "apt-get install kannel kannel-extras"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}; CI must install it, the SMS tests may not be skipped there")
    pytest.skip(reason)


def free_ports(count: int) -> list[int]:
    """Distinct ports that were free a moment ago (all held open together while choosing)."""
    sockets = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind((HOST, 0))
            sockets.append(sock)
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


@dataclass(frozen=True)
class FakeSms:
    """One message as fakesmsc printed it, with the text decoded."""

    sender: str
    receiver: str
    kind: str  # fakesmsc's type: "text", "data" or "ucs-2"
    text: str
    payload: bytes  # the message data as bytes (UTF-8 for 7-bit text, UTF-16BE for UCS-2)
    udh: bytes  # user data header (a part of a concatenated message); b"" if none
    line: str  # the line as printed

    KINDS: ClassVar[frozenset[str]] = frozenset({"text", "data", "ucs-2", "ucs2"})

    @classmethod
    def parse(cls, line: str) -> FakeSms:
        """Parse "sender receiver type data", where a UDH message is "… udh UDH type data"."""
        sender, receiver, rest = [*line.split(" ", 2), "", ""][:3]
        udh = b""
        kind, _, data = rest.partition(" ")
        if kind == "udh":
            raw_udh, _, rest = data.partition(" ")
            udh = _url_bytes(raw_udh)
            kind, _, data = rest.partition(" ")
        payload = data.encode() if kind == "text" else _url_bytes(data)
        # Kannel keeps 7-bit text as UTF-8; the parts of a concatenated message come as "data"
        # whatever their coding, so a UCS-2 part's `text` is garbage: decode its payload.
        encoding = "utf-16-be" if kind in ("ucs-2", "ucs2") else "utf-8"
        return cls(
            sender=sender,
            receiver=receiver,
            kind=kind,
            text=payload.decode(encoding, errors="replace"),
            payload=payload,
            udh=udh,
            line=line,
        )


def _url_bytes(data: str) -> bytes:
    # Kannel's octstr_url_encode writes a space as "+" and a literal "+" as "%2B".
    return urllib.parse.unquote_to_bytes(data.replace("+", " "))


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """Linux: let the kernel SIGTERM the box if pytest dies before its teardown runs."""
    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class KannelHarness:
    """bearerbox + smsbox + fakesmsc on free local ports, configured in `workdir`."""

    def __init__(
        self,
        workdir: Path,
        *,
        sms_service_url: str | None = None,
        sms_service_post: bool = False,
        mo_recode: bool = True,
        username: str = "kabinet",
        password: str = "kannel-test-password",  # noqa: S107 - a throwaway local test box
        startup_timeout: float = 10.0,
    ) -> None:
        """`sms_service_url` is a Kannel URL pattern for MO messages, with Kannel's escapes.

        Used as `get-url` (or `post-url` with `sms_service_post`) of the default sms-service,
        e.g. "http://127.0.0.1:8000/sms?from=%p&to=%P&text=%b&charset=%C&id=%I": %b is the
        text exactly as sent (%a collapses spaces and, for UCS-2 without mo-recode, splits
        characters whose UTF-16 has a 0x20 byte), %I Kannel's message UUID.
        The service never sends the HTTP response back to the phone (`max-messages = 0`):
        the app answers through sendsms like any other SMS. Without a URL, MO messages are
        accepted and dropped. `mo_recode` makes smsbox hand UCS-2 texts over as UTF-8
        (charset=UTF-8, coding=0) instead of URL-encoded UTF-16BE bytes.
        """
        self.workdir = Path(workdir)
        self.sms_service_url = sms_service_url
        self.sms_service_post = sms_service_post
        self.mo_recode = mo_recode
        self.username = username
        self.password = password
        self.admin_password = "kannel-admin"
        self.startup_timeout = startup_timeout
        self.admin_port, self.smsbox_port, self.sendsms_port, self.smsc_port = free_ports(4)
        self.config_path = self.workdir / "kannel.conf"
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._pty_master: int | None = None
        self._reader: threading.Thread | None = None
        self._mt: list[FakeSms] = []
        self._taken: set[int] = set()  # indexes of messages wait_for_mt has returned
        self._last_received = 0.0
        self._changed = threading.Condition()

    # --- what tests use ------------------------------------------------------------------

    @property
    def sendsms_url(self) -> str:
        return f"http://{HOST}:{self.sendsms_port}/cgi-bin/sendsms"

    def notify_settings(self) -> dict[str, str]:
        """The KABINET_NOTIFY entries that point KannelGateway at this Kannel."""
        return {
            "KANNEL_SENDSMS_URL": self.sendsms_url,
            "KANNEL_USERNAME": self.username,
            "KANNEL_PASSWORD": self.password,
        }

    @property
    def mt_messages(self) -> list[FakeSms]:
        """Everything the fake SMSC has received so far (mobile-terminated messages)."""
        with self._changed:
            return list(self._mt)

    def wait_for_mt(self, *, to: str | None = None, timeout: float = 10.0) -> FakeSms:
        """The next message the fake SMSC receives (for `to`, if given) not returned before."""
        deadline = time.monotonic() + timeout
        while True:
            with self._changed:
                for index, message in enumerate(self._mt):
                    if index in self._taken or (to is not None and message.receiver != to):
                        continue
                    if self._may_continue(index):
                        break
                    self._taken.add(index)
                    return message
                if not self._alive("fakesmsc"):
                    raise AssertionError(f"fakesmsc has exited\n{self.logs()}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(
                        f"no SMS for {to or 'anyone'} reached fakesmsc in {timeout} s; "
                        f"received: {[m.line for m in self._mt]}\n{self.logs()}"
                    )
                self._poke()
                self._changed.wait(min(remaining, 0.05))

    def inject_mo(self, from_number: str, to_number: str, text: str) -> None:
        """A phone sends `text` to `to_number`: fakesmsc hands it to bearerbox as an MO SMS."""
        if not from_number or not to_number or " " in from_number + to_number:
            raise ValueError("MO numbers must be non-empty and without spaces")
        if text and all(" " <= char <= "~" for char in text):
            line = f"{from_number} {to_number} text {text}"
        else:
            encoded = urllib.parse.quote(text.encode("utf-16-be"), safe="")
            line = f"{from_number} {to_number} ucs2 {encoded}"
        data = line.encode("ascii") + b"\n"
        if len(data) > FAKESMSC_MAX_LINE:
            raise ValueError(
                f"fakesmsc takes MO lines of at most {FAKESMSC_MAX_LINE} bytes, this one has "
                f"{len(data)} (as UCS-2, every character costs 4-6)"
            )
        if self._pty_master is None or not self._alive("fakesmsc"):
            raise RuntimeError("the harness is not running")
        os.write(self._pty_master, data)

    def status(self) -> str:
        """bearerbox's status page (text)."""
        query = urllib.parse.urlencode({"password": self.admin_password})
        url = f"http://{HOST}:{self.admin_port}/status.txt?{query}"
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.read().decode("utf-8", errors="replace")

    def logs(self, tail: int = 60) -> str:
        """The end of every log in the work directory, for failure messages."""
        parts = []
        for path in sorted(self.workdir.glob("*.log")):
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
            parts.append(f"----- {path} (last {tail} of {len(lines)} lines)")
            parts.extend(lines[-tail:])
        return "\n".join(parts)

    # --- lifecycle -----------------------------------------------------------------------

    def write_config(self) -> Path:
        self.workdir.mkdir(parents=True, exist_ok=True)
        if self.sms_service_url:
            url_key = "post-url" if self.sms_service_post else "get-url"
            service = f'{url_key} = "{self.sms_service_url}"'
        else:
            service = 'text = ""'
        config = f"""\
group = core
admin-port = {self.admin_port}
admin-interface = {HOST}
admin-password = "{self.admin_password}"
admin-allow-ip = "{HOST}"
smsbox-port = {self.smsbox_port}
smsbox-interface = {HOST}
box-allow-ip = "{HOST}"
log-file = "{self.workdir / "bearerbox.log"}"
log-level = 0

group = smsc
smsc = fake
smsc-id = fake
host = {HOST}
port = {self.smsc_port}
connect-allow-ip = "{HOST}"

group = smsbox
bearerbox-host = {HOST}
bearerbox-port = {self.smsbox_port}
sendsms-port = {self.sendsms_port}
sendsms-interface = {HOST}
log-file = "{self.workdir / "smsbox.log"}"
log-level = 0
mo-recode = {"true" if self.mo_recode else "false"}

group = sendsms-user
username = "{self.username}"
password = "{self.password}"
user-allow-ip = "{HOST}"
max-messages = 10
concatenation = true

group = sms-service
keyword = default
{service}
catch-all = true
send-sender = true
max-messages = 0
omit-empty = true
"""
        self.config_path.write_text(config, encoding="utf-8")
        return self.config_path

    def start(self) -> Self:
        missing = missing_binaries()
        if missing:
            raise RuntimeError(f"Kannel binaries missing: {', '.join(missing)}")
        self.write_config()
        try:
            self._spawn("bearerbox", [BEARERBOX, "-v", "2", str(self.config_path)])
            self._wait_until("bearerbox's admin port answers", self._admin_up)
            self._spawn("smsbox", [SMSBOX, "-v", "2", str(self.config_path)])
            self._start_fakesmsc()
            self._wait_until("smsbox and fakesmsc are connected", self._connected)
            self._wait_until("smsbox's sendsms port answers", self._sendsms_up)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, grace: float = 5.0) -> None:
        """Stop fakesmsc, smsbox, then bearerbox: SIGTERM, SIGKILL after `grace` seconds.

        In that order bearerbox has nothing left to wait for and exits in ~0.1 s; SIGTERM to
        all at once makes it linger for a second.
        """
        for proc in reversed(self._procs.values()):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=grace)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self._pty_master is not None:
            os.close(self._pty_master)
            self._pty_master = None
        if self._reader is not None:
            self._reader.join(timeout=2)
            self._reader = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- internals -----------------------------------------------------------------------

    def _spawn(self, name: str, argv: list[str], **kwargs: Any) -> subprocess.Popen[bytes]:
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        if "stdout" not in kwargs:
            kwargs["stdout"] = (self.workdir / f"{name}.stderr.log").open("wb")
        proc = subprocess.Popen(
            argv,
            cwd=self.workdir,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,  # only prctl: fork-safe
            **kwargs,
        )
        if hasattr(kwargs["stdout"], "close"):
            kwargs["stdout"].close()  # the child holds its own descriptor
        self._procs[name] = proc
        return proc

    def _start_fakesmsc(self) -> None:
        master, slave = os.openpty()
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~(termios.ECHO | termios.ISIG | termios.IEXTEN)  # keep ICANON: line reads
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        argv = [FAKESMSC, "-H", HOST, "-r", str(self.smsc_port), "-i", "0", "-v", "0"]
        try:
            proc = self._spawn("fakesmsc", argv, stdin=slave, stdout=subprocess.PIPE)
        finally:
            os.close(slave)
        self._pty_master = master
        self._reader = threading.Thread(
            target=self._read_fakesmsc, args=(proc,), name="fakesmsc-reader", daemon=True
        )
        self._reader.start()

    def _read_fakesmsc(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        with (self.workdir / "fakesmsc.log").open("w", encoding="utf-8") as log:
            for raw in proc.stdout:
                line = raw.decode("utf-8", errors="replace").rstrip("\n")
                log.write(line + "\n")
                log.flush()
                match = _GOT_MESSAGE.search(line)
                with self._changed:
                    if match:
                        self._received(match["line"])
                    self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def _received(self, content: str) -> None:
        self._last_received = time.monotonic()
        message = FakeSms.parse(content)
        if message.kind not in FakeSms.KINDS and self._mt:
            # fakesmsc's protocol is one message a line: a 7-bit text with a newline arrives
            # as its first line plus a line of its own for every further one. Join them back.
            previous = self._mt[-1]
            message = replace(
                previous,
                text=f"{previous.text}\n{content}",
                payload=previous.payload + b"\n" + content.encode(),
                line=f"{previous.line}\n{content}",
            )
            self._mt[-1] = message
        else:
            self._mt.append(message)

    def _may_continue(self, index: int) -> bool:
        """Whether more lines of this 7-bit text may still be on their way (see _received)."""
        return (
            index == len(self._mt) - 1
            and self._mt[index].kind == "text"
            and time.monotonic() - self._last_received < 0.1
        )

    def _poke(self) -> None:
        """An empty line makes fakesmsc stop waiting on stdin and read bearerbox's socket."""
        if self._pty_master is not None and self._alive("fakesmsc"):
            with contextlib.suppress(OSError):
                os.write(self._pty_master, b"\n")

    def _alive(self, name: str) -> bool:
        proc = self._procs.get(name)
        return proc is not None and proc.poll() is None

    def _wait_until(self, what: str, ready: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            dead = [name for name, proc in self._procs.items() if proc.poll() is not None]
            if dead:
                raise RuntimeError(f"Kannel: {', '.join(dead)} exited early\n{self.logs()}")
            if ready():
                return
            time.sleep(0.05)
        raise RuntimeError(f"Kannel: timed out waiting until {what}\n{self.logs()}")

    def _admin_up(self) -> bool:
        try:
            return "Status:" in self.status()
        except OSError:
            return False

    def _connected(self) -> bool:
        try:
            status = self.status()
        except OSError:
            return False
        boxes = status.partition("Box connections:")[2].partition("SMSC connections:")
        return "smsbox:" in boxes[0] and f"FAKE:{self.smsc_port} (online" in boxes[2]

    def _sendsms_up(self) -> bool:
        try:
            with socket.create_connection((HOST, self.sendsms_port), timeout=0.5):
                return True
        except OSError:
            return False


@pytest.fixture(name="kannel_factory")
def kannel_factory_fixture(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Callable[..., KannelHarness]]:
    """Call it (with `KannelHarness` keyword arguments) to get a started Kannel."""
    require_kannel()
    harnesses: list[KannelHarness] = []
    failed_before = request.session.testsfailed

    def make(**kwargs: Any) -> KannelHarness:
        harness = KannelHarness(tmp_path_factory.mktemp("kannel"), **kwargs)
        harnesses.append(harness)
        return harness.start()

    yield make
    for harness in harnesses:
        harness.stop()
    # The call phase has been reported by now: print the logs when it failed (pytest shows a
    # failing test's captured output, so a passing run stays quiet).
    if request.session.testsfailed > failed_before:
        for harness in harnesses:
            sys.stdout.write(f"\n===== Kannel in {harness.workdir}\n{harness.logs(tail=200)}\n")


@pytest.fixture(name="kannel")
def kannel_fixture(kannel_factory: Callable[..., KannelHarness]) -> KannelHarness:
    """A started Kannel with no sms-service URL (MO messages are dropped)."""
    return kannel_factory()

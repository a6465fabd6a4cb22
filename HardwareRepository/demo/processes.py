"""Run the SIMULATED MD server and the EPICS IOC in child processes.

Each server is a Python module run with ``python -m`` in a fresh process. It
listens on a port chosen once by the parent (so a server killed and started
again is found at the same address), prints ``<READY> <port>`` on its standard
output once it serves, writes everything else to a log file, and ends by
itself when its parent dies. The tests and ``hwr demo`` share these classes.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Mapping

from .launcher import wait_for_ready_line

__all__ = [
    "IOC_READY_LINE",
    "MD_READY_LINE",
    "EpicsIocProcess",
    "MDServerProcess",
    "ServerProcess",
    "announce_ready",
    "free_port",
]

#: what the servers print once they serve, followed by their port
MD_READY_LINE = "MD-SERVER-READY"
IOC_READY_LINE = "EPICS-IOC-READY"

log = logging.getLogger("HardwareRepository.demo")


def announce_ready(word: str, port: int | str) -> None:
    """Tell the parent that the server serves (called once, in the child).

    Writes ``<word> <port>`` in one write to the standard output (the parent
    closes that pipe once it has read the line), then sends the standard output
    to the log like the standard error, so nothing written later can hit the
    closed pipe.
    """
    try:
        os.write(1, f"{word} {port}\n".encode())
    except OSError:
        pass  # the parent is gone: the server notices it soon
    os.dup2(2, 1)


def free_port(host: str = "127.0.0.1", kind: int = socket.SOCK_STREAM) -> int:
    """Return a port on ``host`` that nothing uses right now (TCP and UDP)."""
    while True:
        with socket.socket(socket.AF_INET, kind) as first:
            first.bind((host, 0))
            port = int(first.getsockname()[1])
            other = (
                socket.SOCK_DGRAM if kind == socket.SOCK_STREAM else socket.SOCK_STREAM
            )
            with socket.socket(socket.AF_INET, other) as second:
                try:
                    second.bind((host, port))
                except OSError:
                    continue
            return port


class ServerProcess:
    """One server module in a child process, on a fixed port.

    Not thread-safe: drive one instance from one thread. :meth:`start`,
    :meth:`stop` and :meth:`kill` block the calling thread natively (not
    cooperatively) while the child starts or ends; call them before an
    application loop runs, from a test, or from a worker thread.

    Args:
        label: what the server is, for messages (``"SIMULATED MD server"``).
        module: the module run with ``python -m``.
        args: its command-line arguments (``{port}`` is replaced by the port).
        ready: the first word of the line the child prints once it serves.
        port: the port; by default a free one chosen now and kept.
        env: extra environment variables for the child.
        start_timeout: seconds :meth:`start` waits for the ready line.
    """

    def __init__(
        self,
        label: str,
        module: str,
        args: list[str],
        ready: str,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        env: Mapping[str, str] | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        self.label = label
        self.module = module
        self.host = host
        self.port = port if port is not None else free_port(host)
        self.args = [a.replace("{port}", str(self.port)) for a in args]
        self.ready = ready
        self.env = dict(env or {})
        self.start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None
        fd, self.log_path = tempfile.mkstemp(prefix="hwr-server-", suffix=".log")
        os.close(fd)
        #: how many times the server was started
        self.starts = 0

    def __repr__(self) -> str:
        """Describe the object for logs."""
        state = "running" if self.is_running() else "stopped"
        return f"<{self.label} {self.host}:{self.port} {state}>"

    @property
    def address(self) -> str:
        """``host:port``."""
        return f"{self.host}:{self.port}"

    def is_running(self) -> bool:
        """Return whether the child process is alive."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the server and wait until it serves.

        Raises:
            RuntimeError: it is already running, exited during start-up, or
                did not get ready in time (it is killed then); the message
                quotes the end of its log.
        """
        if self.is_running():
            raise RuntimeError(f"{self!r} is already running")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p or os.getcwd() for p in sys.path)
        env.update(self.env)
        with open(self.log_path, "ab") as log_file:
            self._process = subprocess.Popen(
                [sys.executable, "-m", self.module, *self.args],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log_file,
                env=env,
                close_fds=True,
            )
        try:
            self._wait_ready()
        except BaseException:
            self.kill()
            raise
        self.starts += 1

    def _wait_ready(self) -> None:
        process = self._process
        if process is None:
            raise RuntimeError(f"{self!r}: no process to wait for")
        wait_for_ready_line(
            process,
            self.ready,
            self.start_timeout,
            f"{self.label} on {self.address}",
            self.log_tail,
        )

    def log_tail(self, lines: int = 20) -> str:
        """Return the end of the child's log, for messages."""
        try:
            with open(self.log_path, errors="replace") as log_file:
                tail = log_file.readlines()[-lines:]
        except OSError:
            return ""
        return f"; log {self.log_path}:\n" + "".join(tail)

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), like a crash; wait until it is gone."""
        self._end(signal.SIGKILL, 10.0)

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the server (SIGTERM); kill it after ``timeout`` seconds."""
        self._end(signal.SIGTERM, timeout)

    def _end(self, sig: int, timeout: float) -> None:
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                log.warning("%r did not stop within %s s; killing it", self, timeout)
                process.kill()
                process.wait()
        self._process = None

    def wait_exit(self, timeout: float) -> int | None:
        """Wait for the child to exit by itself; return its code (None: alive)."""
        process = self._process
        if process is None:
            return None
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._process = None
        return code

    def close(self) -> None:
        """Stop the server and delete its log file."""
        self.stop()
        try:
            os.unlink(self.log_path)
        except FileNotFoundError:
            pass

    def __enter__(self) -> ServerProcess:
        """Start the server unless it runs."""
        if not self.is_running():
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop the server and delete its log."""
        self.close()


class MDServerProcess(ServerProcess):
    """The SIMULATED MD server (:mod:`.md_server`) in a child process.

    Args:
        port: the TCP port; by default a free one, kept across restarts.
        tick: the simulation's motion step in seconds.
    """

    def __init__(
        self, *, host: str = "127.0.0.1", port: int | None = None, tick: float = 0.05
    ) -> None:
        super().__init__(
            "SIMULATED MD server",
            "HardwareRepository.demo.md_server",
            ["--host", host, "--port", "{port}", "--tick", str(tick)],
            MD_READY_LINE,
            host=host,
            port=port,
        )


class EpicsIocProcess(ServerProcess):
    """The caproto IOC (:mod:`.epics_ioc`) in a child process, on loopback only.

    Clients find it with ``EPICS_CA_ADDR_LIST=127.0.0.1:<port>`` and
    ``EPICS_CA_AUTO_ADDR_LIST=NO`` (see :meth:`client_environment`).

    Args:
        prefix: the prefix of every PV name.
        port: the UDP search port and TCP port; by default a free one, kept.
        counters: how many ``<prefix>counterN`` PVs to serve.
        counter_rate: updates per second of each counter (0: they stay still).
    """

    def __init__(
        self,
        prefix: str = "HWR:",
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        counters: int = 0,
        counter_rate: float = 0.0,
    ) -> None:
        chosen = port if port is not None else free_port(host)
        beacon = free_port(host, socket.SOCK_DGRAM)
        super().__init__(
            "caproto EPICS IOC",
            "HardwareRepository.demo.epics_ioc",
            [
                "--prefix",
                prefix,
                "--counters",
                str(counters),
                "--counter-rate",
                str(counter_rate),
            ],
            IOC_READY_LINE,
            host=host,
            port=chosen,
            env={
                "EPICS_CA_SERVER_PORT": str(chosen),
                "EPICS_CAS_INTF_ADDR_LIST": host,
                "EPICS_CAS_AUTO_BEACON_ADDR_LIST": "NO",
                "EPICS_CAS_BEACON_ADDR_LIST": host,
                "EPICS_CAS_BEACON_PORT": str(beacon),
            },
        )
        self.prefix = prefix

    def client_environment(self) -> dict[str, str]:
        """Return the environment a Channel Access client needs to find this IOC."""
        return {
            "EPICS_CA_ADDR_LIST": f"{self.host}:{self.port}",
            "EPICS_CA_AUTO_ADDR_LIST": "NO",
        }

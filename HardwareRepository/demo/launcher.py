"""Run real Tango device servers in child processes, without a Tango database.

The demo starts its beamline with it; tests reuse it through
:mod:`HardwareRepository.testing.tango_servers`.

:class:`TangoServerProcess` starts one device server in a fresh Python process
(``subprocess``, never ``fork``: a forked child inherits omniORB's threads and
locks, and a server forked after any Tango call in the parent takes 5 s to
start, cppTango #299). The child runs the devices with
:class:`tango.test_context.MultiDeviceTestContext` on a fixed TCP port chosen
once by the parent, so the server can be killed and started again *on the same
port* and clients holding ``tango://127.0.0.1:PORT/dev/name#dbase=no`` names
reconnect to the new instance.

Only one device server runs per child process (pytango #387: a second server in
one process crashes). Device classes are given as classes (or
``"module:QualName"`` strings) importable from the parent's ``sys.path``; the
child receives that path.

The child writes the server's output to a log file
(:attr:`TangoServerProcess.log_path`), quoted in start-up errors. It exits by
itself when its parent process dies.

Example::

    from tests.tango.devices import ValuesDevice

    with TangoServerProcess({"test/values/1": ValuesDevice}) as server:
        name = server.device_url("test/values/1")
        ...
        server.kill()      # like a crash: SIGKILL
        server.start()     # same port; clients reconnect
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ServedDevice",
    "TangoServerProcess",
    "find_free_port",
    "wait_for_ready_line",
]

log = logging.getLogger("HardwareRepository.demo.launcher")

_READY = "TANGO-SERVER-READY"


def find_free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_for_ready_line(
    process: subprocess.Popen[bytes],
    marker: str,
    timeout: float,
    what: str,
    log_tail: Callable[[], str],
) -> None:
    """Wait until a child process prints ``marker`` on its stdout, then close it.

    Blocks the calling thread (start-up only, never from a hub that must keep
    running).

    Args:
        process: the child, started with ``stdout=PIPE``.
        marker: the text the child prints once it serves.
        timeout: seconds to wait in all.
        what: names the child in errors ("Tango server 127.0.0.1:1234").
        log_tail: returns the end of the child's log, appended to errors.

    Raises:
        RuntimeError: the child did not print ``marker`` within ``timeout``, or
            exited first (its exit code and log tail are in the message).
    """
    if process.stdout is None:
        raise RuntimeError(f"{what}: started without a stdout pipe")
    deadline = time.monotonic() + timeout
    received = b""
    try:
        while marker.encode() not in received:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise RuntimeError(
                    f"{what} did not start within {timeout} s{log_tail()}"
                )
            readable, _, _ = select.select([process.stdout], [], [], remaining)
            if not readable:
                continue
            chunk = os.read(process.stdout.fileno(), 4096)
            if not chunk:
                process.wait(5)
                raise RuntimeError(
                    f"{what} exited during start-up "
                    f"(exit code {process.returncode}){log_tail()}"
                )
            received += chunk
    finally:
        process.stdout.close()


def _class_path(cls: type | str) -> str:
    if isinstance(cls, str):
        if ":" not in cls:
            raise ValueError(f"device class {cls!r} must be given as 'module:QualName'")
        return cls
    if "<locals>" in cls.__qualname__:
        raise ValueError(
            f"device class {cls.__qualname__} is defined inside a function; the "
            "server process cannot import it (define it at module level)"
        )
    return f"{cls.__module__}:{cls.__qualname__}"


@dataclass
class ServedDevice:
    """One device the server runs.

    :param name: the Tango device name, ``domain/family/member``.
    :param cls: the device class (high-level ``tango.server.Device``), or
        ``"module:QualName"``.
    :param properties: device property values.
    """

    name: str
    cls: type | str
    properties: dict[str, Any] = field(default_factory=dict)


class TangoServerProcess:
    """One Tango device server in a child process, on a fixed port, without a database.

    Not thread-safe: drive one instance from one thread. :meth:`start`,
    :meth:`stop`, :meth:`kill` and :meth:`restart` block the calling thread
    (natively, not cooperatively) until the server answers or has exited; call
    them before an application loop starts, from a test, or from a worker
    thread.

    :param devices: the devices to serve: a mapping of device name to class (or
        ``"module:QualName"``), or a list of :class:`ServedDevice`. All classes
        of one server must be distinct Tango classes.
    :param host: the address to listen on and to put in device names.
    :param port: the TCP port; by default a free port chosen now and kept for
        every restart.
    :param server_name: the server (executable) name; default: the first class.
    :param start_timeout: seconds :meth:`start` waits for the server to answer.
    :param debug: the server's ``-v`` trace level (0 = quiet), written to the log.
    """

    def __init__(
        self,
        devices: Mapping[str, type | str] | list[ServedDevice],
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        server_name: str | None = None,
        start_timeout: float = 60.0,
        debug: int = 0,
    ) -> None:
        if isinstance(devices, Mapping):
            devices = [ServedDevice(name, cls) for name, cls in devices.items()]
        if not devices:
            raise ValueError("a device server needs at least one device")
        self.devices: list[ServedDevice] = list(devices)
        self.host = host
        self.port = port if port is not None else find_free_port(host)
        self.server_name = server_name
        self.start_timeout = start_timeout
        self.debug = debug
        self._process: subprocess.Popen[bytes] | None = None
        log_fd, self.log_path = tempfile.mkstemp(prefix="tango-server-", suffix=".log")
        os.close(log_fd)
        #: how many times the server was started (1 after the first start)
        self.starts = 0

    def __repr__(self) -> str:
        """Name the server's address and whether it runs, for logs."""
        state = "running" if self.is_running() else "stopped"
        return f"<TangoServerProcess {self.host}:{self.port} {state}>"

    def device_url(self, name: str) -> str:
        """Return the full name clients use: ``tango://HOST:PORT/name#dbase=no``."""
        return f"tango://{self.host}:{self.port}/{name}#dbase=no"

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs."""
        return self._process.pid if self._process is not None else None

    def is_running(self) -> bool:
        """Return whether the child process is alive."""
        return self._process is not None and self._process.poll() is None

    def _child_spec(self) -> str:
        classes: dict[str, list[dict[str, Any]]] = {}
        for device in self.devices:
            classes.setdefault(_class_path(device.cls), []).append(
                {"name": device.name, "properties": device.properties}
            )
        return json.dumps(
            {
                "host": self.host,
                "port": self.port,
                "server_name": self.server_name,
                "timeout": self.start_timeout,
                "debug": self.debug,
                "classes": classes,
            }
        )

    def start(self, timeout: float | None = None) -> None:
        """Start the server and wait until it accepts requests.

        :param timeout: seconds; default :attr:`start_timeout`.
        :raises RuntimeError: the server is already running, exited during
            start-up, or did not answer in time (it is killed then); the message
            quotes the end of its log.
        """
        if self.is_running():
            raise RuntimeError(f"{self!r} is already running")
        timeout = self.start_timeout if timeout is None else timeout
        env = dict(os.environ)
        # "" in sys.path means the current directory (python -c, the REPL).
        env["PYTHONPATH"] = os.pathsep.join(p or os.getcwd() for p in sys.path)
        env.pop("TANGO_HOST", None)  # never reach a real Tango database
        with open(self.log_path, "ab") as log_file:
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__, self._child_spec()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log_file,
                env=env,
                close_fds=True,
            )
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.kill()
            raise
        self.starts += 1

    def _wait_ready(self, timeout: float) -> None:
        process = self._process
        if process is None:
            raise RuntimeError(f"{self!r}: no server process to wait for")
        wait_for_ready_line(
            process,
            _READY,
            timeout,
            f"Tango server {self.host}:{self.port}",
            self._log_tail,
        )

    def _log_tail(self, lines: int = 30) -> str:
        try:
            with open(self.log_path, errors="replace") as log_file:
                tail = log_file.readlines()[-lines:]
        except OSError:
            return ""
        return "; server log " + self.log_path + ":\n" + "".join(tail)

    def kill(self) -> None:
        """Kill the server at once (SIGKILL), like a crash, and wait until it is gone.

        Does nothing if it is not running.
        """
        self._end(signal.SIGKILL)

    def stop(self, timeout: float = 10.0) -> None:
        """Shut the server down cleanly (SIGTERM); kill it after ``timeout`` s.

        Does nothing if it is not running.
        """
        self._end(signal.SIGTERM, timeout)

    def _end(self, sig: int, timeout: float = 10.0) -> None:
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
        if process.stdout is not None:
            process.stdout.close()
        self._process = None

    def restart(self, timeout: float | None = None) -> None:
        """Kill the server (if running) and start it again on the same port."""
        self.kill()
        self.start(timeout)

    def close(self) -> None:
        """Stop the server and delete its log file."""
        self.stop()
        try:
            os.unlink(self.log_path)
        except FileNotFoundError:
            pass

    def __enter__(self) -> TangoServerProcess:
        """Start the server if it is not running; return it."""
        if not self.is_running():
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop the server and delete its log file."""
        self.close()


def _import_class(path: str) -> type:
    module_name, _, qualname = path.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def _child_main(spec_text: str) -> None:
    """Run the server (``python -m HardwareRepository.demo.launcher``)."""
    # Keep the parent's pipe for the ready line; everything the server prints
    # goes to the log (stderr), so a full pipe can never block the server.
    ready_fd = os.dup(1)
    os.dup2(2, 1)
    spec = json.loads(spec_text)
    parent = os.getppid()

    from tango.test_context import MultiDeviceTestContext

    devices_info = [
        {"class": _import_class(path), "devices": devices}
        for path, devices in spec["classes"].items()
    ]
    context = MultiDeviceTestContext(
        devices_info,
        server_name=spec["server_name"],
        host=spec["host"],
        port=spec["port"],
        process=False,
        timeout=spec["timeout"],
        debug=spec["debug"],
    )

    # cppTango handles SIGTERM itself (it shuts the server down cleanly); the
    # handler here only covers a signal arriving before the server runs.
    def on_sigterm(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    context.start()
    try:
        os.write(ready_fd, f"{_READY} {spec['port']}\n".encode())
        os.close(ready_fd)
        while context.thread.is_alive():
            if os.getppid() != parent:
                sys.stderr.write("tango_servers: parent process died; stopping\n")
                context.stop()
                break
            context.thread.join(0.5)
    finally:
        if not context.thread.is_alive():
            context.delete_db()
        sys.stderr.flush()
    # Skip interpreter clean-up: tearing down cppTango at exit can crash.
    os._exit(0)


if __name__ == "__main__":
    _child_main(sys.argv[1])

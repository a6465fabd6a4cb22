"""A SIMULATED Taco client with the call signatures of ESRF's ``TacoDevice``.

Selected only explicitly (see :mod:`HardwareRepository.Command.Taco`). It is
not Taco: no RPC, no database, no network. It reproduces what a client sees:

* ``TacoDevice(name)`` / ``TacoDeviceC(name)`` (data-collector variant) import
  a device and **block**; an unknown device raises
  ``Dev_Exception(DbErr_DeviceNotDefined)``, a device whose server is not
  running raises ``Dev_Exception(DbErr_DeviceNotExported)``;
* ``device.<Command>(*args)`` executes a command and **blocks** while the
  simulated server works; a command the device does not have raises
  ``AttributeError`` (as mxCuBE's wrapper did); a server that is down or
  slower than the client timeout makes the call block for the whole timeout
  and raise ``Dev_Exception(DevErr_RPCTimedOut)``; a failing command raises
  ``Dev_Exception`` with the configured Taco error code;
* ``device.timeout()`` returns, ``device.timeout(seconds)`` sets the client
  timeout (default :data:`DEFAULT_TIMEOUT` s);
* ``device.devname`` (lower case) and ``device.imported`` (1) as in the real
  wrapper.

Error codes are the real Taco numbers (``DevErrors.h``). Servers are defined
in-process by tests and demos with :func:`define_device`. Every function is
safe from any thread; the blocking calls must not be made from a gevent hub
thread (the Taco module calls them from worker threads).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ..bridge import native

__all__ = [
    "DEFAULT_TIMEOUT",
    "SIMULATED",
    "DbErr_DeviceNotDefined",
    "DbErr_DeviceNotExported",
    "DevErr_CommandFailed",
    "DevErr_DeviceHardwareError",
    "DevErr_RPCTimedOut",
    "Dev_Exception",
    "SimulatedTacoDevice",
    "TacoDevice",
    "TacoDeviceC",
    "define_device",
    "get_device",
    "remove_device",
    "reset",
]

#: marks this module as the simulation (read by the Taco module)
SIMULATED = True

#: the client timeout of a new device handle, seconds
DEFAULT_TIMEOUT = 3.0

# Real Taco error numbers (DevErrors.h).
DevErr_RPCTimedOut = 2
DevErr_RPCFailed = 3
DevErr_DeviceHardwareError = 52
DevErr_DeviceIllegalParameter = 54
DevErr_CommandFailed = 61
DbErr_DeviceNotDefined = 412
DbErr_DeviceNotExported = 414

_MESSAGES = {
    DevErr_RPCTimedOut: "RPC client call timed out",
    DevErr_RPCFailed: "RPC client call failed",
    DevErr_DeviceHardwareError: "Device hardware error",
    DevErr_DeviceIllegalParameter: "Illegal parameter",
    DevErr_CommandFailed: "Command failed",
    DbErr_DeviceNotDefined: "Device not defined in the database",
    DbErr_DeviceNotExported: "Device not exported",
}

#: codes that mean "the device cannot be reached" rather than "it refused"
COMMUNICATION_CODES = frozenset(
    {1, 2, 3, 4, 8, 10, 12, 16, 17, 22, 39, 402, 412, 414, 430, 1002, 1027}
)


class Dev_Exception(Exception):  # noqa: N801, N818 (the real client's name)
    """A Taco error, carrying the Taco error number.

    :param code: the Taco error number (``DevErrors.h``).
    :param message: the text; default: the standard text of ``code``.
    """

    def __init__(self, code: int, message: str | None = None) -> None:
        self.code = int(code)
        self.message = message or _MESSAGES.get(self.code, "Taco error")
        super().__init__(f"Taco error {self.code}: {self.message}")


class SimulatedTacoDevice:
    """The server side of one simulated device; change it from any thread.

    :param name: the device name (case-insensitive).
    :param commands: command name -> a callable run with the call's arguments
        (in the calling worker thread) or a constant returned as is.
    """

    def __init__(
        self, name: str, commands: Mapping[str, Callable[..., Any] | Any]
    ) -> None:
        self.name = name.lower()
        self._lock = native.allocate_lock()
        self._commands = dict(commands)  # _lock
        self._failures: dict[str, tuple[int, str | None]] = {}  # _lock
        self.running = True  # read without the lock: a bool flip
        #: seconds each command takes on the server
        self.delay = 0.0
        #: (command, args) of every call that reached the server, in order
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def __repr__(self) -> str:
        """Name the simulated device and whether it runs, for logs."""
        state = "running" if self.running else "down"
        return f"<simulated Taco device {self.name} {state}>"

    def set_command(self, command: str, behaviour: Callable[..., Any] | Any) -> None:
        """Add or replace a command (a callable or a constant)."""
        with self._lock:
            self._commands[command] = behaviour

    def fail(self, command: str, code: int | None, message: str | None = None) -> None:
        """Make ``command`` raise Taco error ``code``; ``None`` clears it."""
        with self._lock:
            if code is None:
                self._failures.pop(command, None)
            else:
                self._failures[command] = (code, message)

    def stop(self) -> None:
        """Simulate a server crash: calls time out, imports fail."""
        self.running = False

    def start(self) -> None:
        """Restart the server."""
        self.running = True

    def has_command(self, command: str) -> bool:
        """Return whether the device has ``command``."""
        with self._lock:
            return command in self._commands

    def _execute(self, command: str, args: tuple[Any, ...], timeout: float) -> Any:
        if not self.running or self.delay > timeout:
            native.sleep(timeout)
            raise Dev_Exception(DevErr_RPCTimedOut)
        if self.delay:
            native.sleep(self.delay)
        with self._lock:
            behaviour = self._commands[command]
            failure = self._failures.get(command)
            self.calls.append((command, args))
        if failure is not None:
            raise Dev_Exception(*failure)
        if callable(behaviour):
            return behaviour(*args)
        return behaviour


_devices: dict[str, SimulatedTacoDevice] = {}  # guarded by _devices_lock
_devices_lock = native.allocate_lock()


def define_device(
    name: str, commands: Mapping[str, Callable[..., Any] | Any] | None = None
) -> SimulatedTacoDevice:
    """Create (or replace) the simulated device ``name`` and return it."""
    device = SimulatedTacoDevice(name, commands or {})
    with _devices_lock:
        _devices[device.name] = device
    return device


def get_device(name: str) -> SimulatedTacoDevice:
    """Return the simulated device ``name``.

    :raises KeyError: no such device.
    """
    with _devices_lock:
        return _devices[name.lower()]


def remove_device(name: str) -> None:
    """Forget the simulated device ``name`` (a no-op if unknown)."""
    with _devices_lock:
        _devices.pop(name.lower(), None)


def reset() -> None:
    """Forget every simulated device."""
    with _devices_lock:
        _devices.clear()


class TacoDevice:
    """A client handle on a simulated device; blocks like the real one.

    :param name: the device name.
    :raises Dev_Exception: ``DbErr_DeviceNotDefined`` (no such device) or
        ``DbErr_DeviceNotExported`` (its server is down).
    """

    _dc = False

    def __init__(self, name: str) -> None:
        self.devname = name.lower()
        self.imported = 0
        self._timeout = DEFAULT_TIMEOUT
        with _devices_lock:
            server = _devices.get(self.devname)
        if server is None:
            raise Dev_Exception(DbErr_DeviceNotDefined, f"{name}: not defined")
        if not server.running:
            raise Dev_Exception(DbErr_DeviceNotExported, f"{name}: not exported")
        self._server = server
        self.imported = 1

    def __repr__(self) -> str:
        """Name the device handle, for logs."""
        return f"<simulated TacoDevice {self.devname}>"

    def timeout(self, *seconds: float) -> float:
        """Return the client timeout, or set it to ``seconds[0]`` and return it."""
        if seconds:
            self._timeout = float(seconds[0])
        return self._timeout

    def __getattr__(self, command: str) -> Callable[..., Any]:
        """Return a callable running the Taco command ``command`` on the server."""
        if command.startswith("_"):
            raise AttributeError(command)
        if not self._server.has_command(command):
            raise AttributeError(f"Taco device {self.devname} has no command {command}")
        server, timeout = self._server, self._timeout

        def call(*args: Any) -> Any:
            return server._execute(command, args, timeout)

        call.__name__ = command
        return call


class TacoDeviceC(TacoDevice):
    """A data-collector handle (``dev_ioC``): commands take no arguments."""

    _dc = True

    def __getattr__(self, command: str) -> Callable[..., Any]:
        """Return the data-collector form of ``command``: it takes no arguments."""
        execute = super().__getattr__(command)

        def call() -> Any:
            return execute()

        call.__name__ = command
        return call

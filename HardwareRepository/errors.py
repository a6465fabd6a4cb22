"""The package's exception taxonomy.

Misuse of an API raises the built-in ``TypeError``/``ValueError``; everything the
package itself reports derives from :class:`HardwareRepositoryError`, except
:class:`Timeout`, which derives from the built-in :class:`TimeoutError` so that
``except TimeoutError`` catches every timeout of the package.
"""

from __future__ import annotations

__all__ = [
    "BridgeClosedError",
    "CommandFailedError",
    "CommunicationError",
    "ConfigError",
    "HardwareRepositoryError",
    "InvalidThreadUseError",
    "NotConnectedError",
    "NotReadyTimeout",
    "Timeout",
]


class HardwareRepositoryError(Exception):
    """Base class of the errors this package raises on its own behalf."""


class Timeout(TimeoutError):  # noqa: N818 (the name the issues give)
    """A wait ran out of time; the message says what was being waited for.

    A timeout never cancels work already running in another thread: it only
    stops the caller from waiting for it.
    """


class NotReadyTimeout(Timeout, RuntimeError):  # noqa: N818 (a Timeout)
    """``wait_ready`` ran out of time.

    Also a ``RuntimeError``, the exception mxcubecore raises in that case, so
    code written for mxcubecore catches it.
    """


class InvalidThreadUseError(HardwareRepositoryError, RuntimeError):
    """A call was made from a thread or greenlet where it is not allowed.

    For instance a blocking wait from inside the gevent hub itself, which would
    deadlock the loop.
    """


class BridgeClosedError(HardwareRepositoryError, RuntimeError):
    """Work was handed to a hub bridge (or a thread) that has been closed."""


class ConfigError(HardwareRepositoryError, ValueError):
    """A configuration file is wrong.

    :param message: what is wrong.
    :param file: the file it is in, if known.
    :param line: the 1-based line, if known.
    :param obj: the hardware object (name or path) it concerns, if known.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        obj: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.obj = obj
        super().__init__(self._format())

    def _format(self) -> str:
        where = ""
        if self.file:
            where = self.file if self.line is None else f"{self.file}:{self.line}"
        if self.obj:
            where = f"{where} (object {self.obj})" if where else f"object {self.obj}"
        return f"{where}: {self.message}" if where else self.message


class CommunicationError(HardwareRepositoryError):
    """The control system failed; the original error is in ``__cause__``."""


class NotConnectedError(CommunicationError):
    """The device or server is not reachable (yet)."""


class CommandFailedError(CommunicationError):
    """A command reached the control system and failed there."""

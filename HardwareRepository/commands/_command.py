"""A command on a control system: call it, with ``wait=`` and ``timeout=``."""

from __future__ import annotations

from typing import Any

import gevent
from greenlet import getcurrent

from ..bridge import AsyncResult
from ..errors import InvalidThreadUseError, NotConnectedError, Timeout
from ._backend import CommandBackend
from ._item import _Item

__all__ = [
    "ARGUMENT_TYPE_JSON_SCHEMA",
    "ARGUMENT_TYPE_LIST",
    "PROCEDURE_COMMAND_T",
    "TWO_STATE_COMMAND_T",
    "CommandObject",
]

#: mxcubecore's values of ``CommandObject.argument_type``
ARGUMENT_TYPE_LIST = "List"
ARGUMENT_TYPE_JSON_SCHEMA = "JSONSchema"
#: mxcubecore's kinds of beamline-action commands (mxcubeqt's action panel)
PROCEDURE_COMMAND_T = "CONTROLLER"
TWO_STATE_COMMAND_T = "INOUT"

# Extra time a plain thread waits beyond a command's timeout before giving up on
# a hub that does not answer (the timeout itself fires inside the hub).
_FOREIGN_GRACE = 1.0


class CommandObject(_Item):
    """One command on a control system; call it to execute it.

    Construct it in the owning hub thread (normally the configuration loader
    does). Calling is safe from any thread and any greenlet except the hub
    itself: in a greenlet of the owning hub the command runs inline and waits
    cooperatively; from another thread it runs in a new greenlet of the owning
    hub while the caller waits natively.

    :param name: the command's name in its container.
    :param username: display name.
    :param timeout: default limit in seconds for one execution, ``None`` for no
        limit of the package's own (the control system's timeout still applies).
    :param kwargs: extra XML attributes a subclass did not consume (ignored).
    """

    def __init__(
        self,
        name: str,
        username: str | None = None,
        timeout: float | None = None,
        *,
        backend: CommandBackend[Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, username)
        self.timeout = timeout
        self._arguments: list[dict[str, Any]] = []
        #: mxcubecore's description of the arguments: a list (``"List"``)
        self.argument_type = ARGUMENT_TYPE_LIST
        self._running: set[gevent.Greenlet] = set()  # hub thread only
        self._connected = True
        self._backend = backend

    def source(self) -> str:
        """Describe where the item lives: the backend's description, if any."""
        if self._backend is not None:
            return self._backend.source()
        return super().source()

    @property
    def backend(self) -> CommandBackend[Any] | None:
        """The control system's side of the command (``None`` for a subclass)."""
        return self._backend

    # -- arguments (long XML notation) ---------------------------------------
    def add_argument(
        self,
        argName: str,
        argType: str,
        combo_items: Any = None,
        onchange: Any = None,
        valuefrom: Any = None,
    ) -> None:
        """Describe one argument (from the long XML notation), for GUIs."""
        self._arguments.append(
            {
                "name": argName,
                "type": argType,
                "items": combo_items,
                "onchange": onchange,
                "valuefrom": valuefrom,
            }
        )

    def get_arguments(self) -> list[dict[str, Any]]:
        """Return the argument descriptions, in XML order."""
        return list(self._arguments)

    def get_combo_argument_items(self, argName: str) -> Any:
        """Return the combo items of argument ``argName`` (``None`` if none)."""
        for arg in self._arguments:
            if arg["name"] == argName:
                return arg["items"]
        return None

    # pre-2020 names
    addArgument = add_argument
    getArguments = get_arguments
    getComboArgumentItems = get_combo_argument_items

    # -- execution ------------------------------------------------------------
    def _execute(self, *args: Any, **kwargs: Any) -> Any:
        """Perform the command; a subclass without a backend overrides it."""
        raise NotImplementedError(f"{self.source()}: no _execute() for this type")

    def _abort(self) -> None:
        """Ask the control system to stop the command (the backend's ``abort``)."""
        if self._backend is not None:
            self._backend.abort()

    def _invoke(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], limit: float | None
    ) -> Any:
        if self._backend is not None:
            return self._backend.call(args, kwargs, limit)
        return self._execute(*args, **kwargs)

    def __call__(
        self,
        *args: Any,
        wait: bool = True,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Any:
        """Execute the command with ``args`` and return its value.

        :param wait: ``False`` to return an
            :class:`~HardwareRepository.bridge.AsyncResult` at once; its
            ``get()`` gives the value or raises the failure.
        :param timeout: seconds; ``None`` uses :attr:`timeout`. When it runs
            out the execution is interrupted, ``commandFailed`` is emitted and
            :class:`~HardwareRepository.errors.Timeout` is raised.
        :raises Timeout: the command did not finish in time.
        :raises CommandFailedError: the control system reported a failure (or
            any exception of the type module; nothing is swallowed).
        :raises NotConnectedError: the command was closed.
        :raises InvalidThreadUseError: ``wait=True`` from inside the hub itself.
        """
        if self._closed:
            raise NotConnectedError(f"{self.source()} is closed")
        limit = self.timeout if timeout is None else timeout
        bridge = self._bridge
        if bridge.in_hub_thread():
            current = getcurrent()
            if wait:
                if current is bridge.hub:
                    raise InvalidThreadUseError(
                        f"{self.source()}: cannot wait for a command inside the "
                        "gevent hub; use wait=False or call it from a greenlet"
                    )
                return self._run(args, kwargs, limit)
            result: AsyncResult[Any] = AsyncResult(name=self.source())
            self._spawn(result, args, kwargs, limit)
            return result
        result = AsyncResult(name=self.source())
        bridge.post(self._spawn, result, args, kwargs, limit)
        if not wait:
            return result
        return result.get(None if limit is None else limit + _FOREIGN_GRACE)

    def _spawn(
        self,
        result: AsyncResult[Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        limit: float | None,
    ) -> None:
        greenlet = gevent.spawn(self._run_into, result, args, kwargs, limit)
        self._running.add(greenlet)
        greenlet.link(self._running.discard)

    def _run_into(
        self,
        result: AsyncResult[Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        limit: float | None,
    ) -> None:
        try:
            value = self._run(args, kwargs, limit)
        except gevent.GreenletExit:
            result.set_exception(NotConnectedError(f"{self.source()} was aborted"))
        except BaseException as exc:
            result.set_exception(exc)
        else:
            result.set(value)

    def _run(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], limit: float | None
    ) -> Any:
        name = self._name
        self._send("commandBeginWaitReply", (name,))
        try:
            if limit is None:
                value = self._invoke(args, kwargs, limit)
            else:
                expired = Timeout(f"{self.source()} did not reply within {limit} s")
                with gevent.Timeout(limit, expired):
                    value = self._invoke(args, kwargs, limit)
        except gevent.GreenletExit:
            self._send("commandFailed", (NotConnectedError("aborted"), name))
            raise
        except BaseException as exc:
            self._send("commandFailed", (exc, name))
            raise
        self._send("commandReplyArrived", (value, name))
        return value

    def abort(self) -> None:
        """Stop executions started with ``wait=False`` or from other threads.

        Asks the control system to stop (``_abort``) and kills those greenlets;
        their results raise :class:`~HardwareRepository.errors.NotConnectedError`.
        Hub thread only; an inline execution in another greenlet is not killed.
        """
        self._abort()
        if self._running:
            gevent.killall(list(self._running), block=True, timeout=1.0)

    def close(self) -> None:
        """Abort running executions, close the backend, refuse further calls.

        Idempotent; hub thread; bounded in time.
        """
        if self._closed:
            return
        if self._running:
            gevent.killall(list(self._running), block=True, timeout=1.0)
        if self._backend is not None:
            self._backend.close()
        super().close()

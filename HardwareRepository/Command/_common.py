"""What the type modules share: client selection, XML, blocking calls.

* :class:`ClientLibrary` -- the real client library, imported on first use, or
  the simulated one when it was asked for explicitly (:func:`wants_simulation`);
* :class:`XmlAttributes` -- an item's XML attributes, consumed as they are
  read (flags, milliseconds, retry delays, the device name), the rest warned
  about;
* :func:`pop_milliseconds`, :func:`pop_polling`, :func:`warn_unread` -- the
  same for the other types' plain attribute dictionaries (EPICS, Exporter);
* :func:`parse_args` -- XML ``args`` as Python literals (never evaluated);
* :func:`call_in_thread` -- one blocking client call in a new real thread;
  :func:`call_and_wait` -- the same, waited for, with the errors named;

The backend classes built on these are in :mod:`._client_backends`. Private to
:mod:`HardwareRepository.Command`.
"""

from __future__ import annotations

import ast
import importlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any, TypeVar, overload

from ..bridge import AsyncResult, native
from ..errors import CommunicationError, ConfigError, Timeout

__all__ = [
    "ClientLibrary",
    "MissingClientLibraryError",
    "XmlAttributes",
    "call_and_wait",
    "call_in_thread",
    "parse_args",
    "pop_milliseconds",
    "pop_polling",
    "wants_simulation",
    "warn_unread",
]

T = TypeVar("T")

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _flag(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ConfigError(f"{what}={value!r} is not a boolean (true/false)")


def wants_simulation(attrs: dict[str, Any], owner: Any, env_var: str) -> bool:
    """Return whether the simulated client was asked for, and consume the attribute.

    Asked for by, in order: the element's ``simulated`` attribute, the owning
    object's ``simulated`` property, the environment variable ``env_var``
    (``1``/``true``/``yes``/``on``). Nothing else selects it: a missing real
    library is an error, never a silent switch to the simulation.

    :raises ConfigError: one of them is not a boolean.
    """
    raw = attrs.pop("simulated", None)
    if raw is not None:
        return _flag(raw, "simulated")
    if owner is not None:
        prop = owner.get_property("simulated")
        if prop is not None:
            return _flag(prop, "simulated (object property)")
    env = os.environ.get(env_var)
    if env is not None:
        return _flag(env, env_var)
    return False


class MissingClientLibraryError(ConfigError, ImportError):
    """A control system's client library is not installed.

    Both a :class:`~HardwareRepository.errors.ConfigError` (the configuration
    asks for something this installation lacks; its message is shown as is)
    and an :class:`ImportError` (what the plug-in contract lets propagate).
    The original ``ImportError`` is the ``__cause__``.
    """


@dataclass(frozen=True)
class ClientLibrary:
    """One control system's client library, real or simulated.

    :param type_name: the XML ``type`` (``"taco"``), used in messages.
    :param system: the control system's name in messages (``"Taco"``).
    :param real_module: the real client's module (``"tine"``, ``"TacoDevice"``).
    :param simulated_module: the dotted name of the simulated client module.
    :param description: the real library, for the error message.
    :param env_var: the environment variable selecting the simulation.
    :param logger: the name of the type module's logger.
    """

    type_name: str
    system: str
    real_module: str
    simulated_module: str
    description: str
    env_var: str
    logger: str

    def load(self, simulated: bool) -> ModuleType:
        """Import and return the client module: the real or the simulated one.

        :raises MissingClientLibraryError: the real library is not installed;
            the message names it and says how to select the simulated client.
        """
        if simulated:
            return importlib.import_module(self.simulated_module)
        try:
            return importlib.import_module(self.real_module)
        except ImportError as exc:
            raise MissingClientLibraryError(
                f"the {self.description} is not installed: Python module "
                f"{self.real_module} cannot be imported ({exc}); install it, or "
                f'select the simulated client with simulated="true" or '
                f"{self.env_var}=1"
            ) from exc

    def load_default(self) -> ModuleType:
        """Return the client the environment variable selects (default: real).

        :raises MissingClientLibraryError: as :meth:`load`.
        :raises ConfigError: the variable is not a boolean.
        """
        return self.load(wants_simulation({}, None, self.env_var))


class XmlAttributes:
    """The XML attributes of one item, consumed as the factory reads them.

    Reading an attribute removes it; :meth:`create` then logs the ones
    nobody read. Construction consumes ``simulated`` (see
    :func:`wants_simulation`). Plain data: use it from one thread.

    :param library: the item's client library.
    :param kind: ``"command"`` or ``"channel"``.
    :param name: the item's name.
    :param attrs: the element's attributes (copied, never changed).
    :param owner: the owning object (its ``simulated`` property counts), or
        ``None``.
    :raises ConfigError: ``simulated`` is not a boolean.
    """

    def __init__(
        self,
        library: ClientLibrary,
        kind: str,
        name: str,
        attrs: dict[str, Any],
        owner: Any,
    ) -> None:
        self.library = library
        self.name = name
        #: the item in messages: ``taco channel 'flux'``
        self.what = f"{library.type_name} {kind} {name!r}"
        self._attrs = dict(attrs)
        #: whether the simulated client was asked for
        self.simulated = wants_simulation(self._attrs, owner, library.env_var)

    def pop(self, key: str, default: Any = None) -> Any:
        """Return the raw attribute ``key`` (or ``default``) and consume it."""
        return self._attrs.pop(key, default)

    def flag(self, key: str, default: bool) -> bool:
        """Return the boolean attribute ``key``; ``default`` when absent.

        :raises ConfigError: not a boolean (``true``/``false``, ``1``/``0``...).
        """
        raw = self._attrs.pop(key, None)
        return default if raw is None else _flag(raw, key)

    @overload
    def milliseconds(self, key: str, default: float) -> float: ...
    @overload
    def milliseconds(self, key: str, default: None) -> float | None: ...
    def milliseconds(self, key: str, default: float | None) -> float | None:
        """Return the attribute ``key`` (ms in XML) in seconds.

        :param default: seconds when the attribute is absent.
        :raises ConfigError: not a positive number.
        """
        return pop_milliseconds(self._attrs, key, default)

    def retry(self) -> tuple[float, float]:
        """Return ``(retry, retry_max)`` in seconds (XML ms; 1 s and 30 s)."""
        retry = self.milliseconds("retry", 1.0)
        return retry, self.milliseconds("retry_max", max(30.0, retry))

    def device(self, key: str, noun: str) -> str:
        """Return the device/server name ``key`` (XML or inherited property).

        :param noun: what it names, for the message (``"Taco device"``).
        :raises ConfigError: absent or empty.
        """
        name = self._attrs.pop(key, None)
        if not name:
            raise ConfigError(
                f"{self.what} has no {noun}: give {key}= or a {key} property"
            )
        return str(name)

    def create(self, factory: Callable[..., T], target: str, **kwargs: Any) -> T:
        """Create the item; then warn about the attributes nobody read.

        Calls ``factory(name, target or name, username=..., client=...,
        **kwargs)`` with the XML ``username`` and the client asked for.

        :param target: the element text (command, property).
        :raises MissingClientLibraryError: the real library is not installed.
        """
        username = self._attrs.pop("username", None)
        client = self.library.load(self.simulated)
        item = factory(
            self.name, target or self.name, username=username, client=client, **kwargs
        )
        warn_unread(logging.getLogger(self.library.logger), self._attrs, self.what)
        return item


@overload
def pop_milliseconds(attrs: dict[str, Any], key: str, default: float) -> float: ...
@overload
def pop_milliseconds(
    attrs: dict[str, Any], key: str, default: None
) -> float | None: ...
def pop_milliseconds(
    attrs: dict[str, Any], key: str, default: float | None
) -> float | None:
    """Remove the attribute ``key`` (ms in XML) from ``attrs``; return it in seconds.

    :param default: seconds when the attribute is absent.
    :raises ConfigError: not a positive number.
    """
    raw = attrs.pop(key, None)
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or raw <= 0:
        raise ConfigError(f"{key}={raw!r} must be a positive number of milliseconds")
    return raw / 1000.0


def pop_polling(attrs: dict[str, Any]) -> float | None:
    """Remove ``polling`` from ``attrs``; return the period in seconds.

    ``None`` when absent or ``"events"`` (follow the control system's events).

    :raises ConfigError: neither a positive number of ms nor ``"events"``.
    """
    raw = attrs.get("polling")
    if raw in ("events", "event"):
        attrs.pop("polling")
        return None
    try:
        return pop_milliseconds(attrs, "polling", None)
    except ConfigError:
        raise ConfigError(
            f"polling={raw!r} must be a period in milliseconds or 'events'"
        ) from None


def warn_unread(logger: logging.Logger, attrs: dict[str, Any], what: str) -> None:
    """Log a warning naming the attributes of ``what`` that nobody read."""
    if attrs:
        logger.warning("%s: ignoring unknown attributes %s", what, sorted(attrs))


def parse_args(raw: Any, what: str = "args") -> tuple[Any, ...]:
    """Parse an XML argument list into a tuple of Python literals.

    Accepts what mxCuBE's ``eval("(" + args + ",)")`` accepted for literals:
    ``"1, 2"`` -> ``(1, 2)``; ``"'abc'"`` -> ``("abc",)``; ``"[1, 2]"`` ->
    ``([1, 2],)``; a number already converted by the XML loader -> one
    argument. Names, calls and any other expression are refused.

    :raises ConfigError: the text is not a comma-separated list of literals.
    """
    if raw is None:
        return ()
    if not isinstance(raw, str):
        return (raw,)
    text = raw.strip()
    if not text:
        return ()
    if not text.endswith(","):
        text += ","
    try:
        value = ast.literal_eval(f"({text})")
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise ConfigError(
            f"{what}={raw!r} is not a comma-separated list of Python literals "
            "(numbers, quoted strings, lists, tuples, dicts, True/False/None)"
        ) from None
    return tuple(value)


def call_in_thread(
    func: Callable[..., T], *args: Any, name: str | None = None
) -> AsyncResult[T]:
    """Run ``func(*args)`` in a new real OS thread; safe from any thread.

    For blocking client-library calls: the caller waits on the returned result
    (cooperatively in a greenlet, natively in a thread). The thread ends when
    ``func`` returns; abandoning the wait never interrupts the call, which
    ends when the client's own timeout expires. The thread creates no gevent
    object.
    """
    result: AsyncResult[T] = AsyncResult(name=name)

    def main() -> None:
        try:
            value = func(*args)
        except BaseException as exc:
            result.set_exception(exc)
        else:
            result.set(value)

    native.start_new_thread(main, ())
    return result


def call_and_wait(
    func: Callable[..., T],
    *args: Any,
    source: str,
    limit: float | None = None,
    failure: type[CommunicationError] | None = None,
    action: str = "call",
) -> T:
    """Run the blocking ``func(*args)`` in a worker thread and wait for it.

    The wait is cooperative in a greenlet, native in a plain thread; the
    client call itself is never interrupted (see :func:`call_in_thread`).

    :param source: names the item, for the thread and the messages.
    :param limit: seconds to wait; ``None``: until the call returns (an outer
        ``gevent.Timeout`` still applies and propagates unchanged).
    :param failure: the error an ``OSError`` of the client (TINE's
        ``IOError``) becomes, with the original as ``__cause__``; ``None``:
        let it propagate.
    :param action: what the call does, for that message (``"get"``).
    :raises Timeout: no answer within ``limit``.
    :raises CommunicationError: ``failure``, as above; other exceptions of
        ``func`` propagate unchanged.
    """
    result = call_in_thread(func, *args, name=source)
    try:
        return result.get(limit)
    except Timeout as exc:  # before OSError: Timeout is a TimeoutError
        if limit is None:
            raise
        raise Timeout(f"{source}: no answer within {limit:g} s") from exc
    except OSError as exc:
        if failure is None:
            raise
        raise failure(f"{source}: {action} failed: {exc}") from exc

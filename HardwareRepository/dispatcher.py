"""The global signal dispatcher of mxCuBE (``dispatcher.connect/send``).

mxCuBE code and its Qt GUI reach signals through a PyDispatcher-style global::

    from HardwareRepository.dispatcher import dispatcher
    dispatcher.connect(slot, "valueChanged", motor)
    dispatcher.send("valueChanged", motor, 12.5)

Here it is not a second signal system: connecting to a hardware object, a
command, a channel or the repository adds the receiver to that object's own
table (:mod:`HardwareRepository._signals`), so ``motor.connect("valueChanged",
slot)`` and ``dispatcher.connect(slot, "valueChanged", motor)`` are the same
connection, and ``motor.emit`` reaches both. Receivers connected with
``sender=dispatcher.Any`` hear that signal from every sender. Any other object
may be a sender too (its receivers are kept in a table of their own, held as
long as the sender lives).

Same semantics as every signal here: bound methods are held weakly (unless
``weak=False``), receivers run synchronously in the sender's greenlet, a
failing receiver is logged and the others still run. Receivers get the
positional arguments only (PyDispatcher's ``signal=``/``sender=`` keywords are
not passed). Connecting to every signal (``signal=Any``) is not supported:
name the signal.
"""

from __future__ import annotations

import typing
import weakref
from collections.abc import Callable

from ._signals import SignalEmitter, any_sender_table

__all__ = ["Anonymous", "Any", "connect", "disconnect", "dispatcher", "send"]


class _Marker:
    """A named sentinel (``Any``, ``Anonymous``)."""

    __slots__ = ("_name",)

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"dispatcher.{self._name}"


#: ``sender=Any``: the receiver hears the signal from every sender.
Any = _Marker("Any")
#: the sender of :func:`send` when none is given.
Anonymous = _Marker("Anonymous")

# Emitters standing in for senders that have no signal table of their own.
_proxies: weakref.WeakKeyDictionary[typing.Any, SignalEmitter] = (
    weakref.WeakKeyDictionary()
)
_strong_proxies: dict[int, tuple[typing.Any, SignalEmitter]] = {}


def _existing_table(sender: typing.Any) -> SignalEmitter | None:
    """Return the signal table for ``sender``, ``None`` if it has none yet."""
    if sender is Any:
        return any_sender_table()
    if isinstance(sender, SignalEmitter):
        return sender
    try:
        return _proxies.get(sender)
    except TypeError:  # not weak-referenceable (None, a str, an int...)
        entry = _strong_proxies.get(id(sender))
        return entry[1] if entry is not None else None


def _table(sender: typing.Any) -> SignalEmitter:
    """Return the signal table for ``sender``, creating it if needed."""
    table = _existing_table(sender)
    if table is None:
        table = SignalEmitter()
        try:
            _proxies[sender] = table
        except TypeError:
            _strong_proxies[id(sender)] = (sender, table)
    return table


def _check_signal(signal: typing.Any) -> str:
    if signal is Any:
        raise ValueError(
            "dispatcher: connecting to every signal (signal=Any) is not "
            "supported; name the signal"
        )
    return str(signal)


def connect(
    receiver: Callable[..., typing.Any],
    signal: typing.Any,
    sender: typing.Any = Any,
    weak: bool = True,
) -> None:
    """Connect ``receiver`` to ``signal`` sent by ``sender``.

    If ``sender`` is a hardware object, its ``connect_notify(signal)`` runs
    afterwards (as with :meth:`HardwareObject.connect
    <HardwareRepository.BaseHardwareObjects.HardwareObject.connect>`), so it
    can re-emit its current value. Any thread (the tables are locked); the
    receiver later runs in the sender's greenlet.

    :param sender: the sender, or :data:`Any` for every sender.
    :param weak: hold a bound-method receiver weakly (default).
    :raises TypeError: ``receiver`` is not callable.
    :raises ValueError: ``signal`` is :data:`Any`.
    """
    name = _check_signal(signal)
    if _table(sender).add_signal_receiver(name, receiver, weak) and sender is not Any:
        hooks = getattr(sender, "receiver_connected", None)  # a hardware object
        if hooks is not None:
            hooks(name)
            return
        notify = getattr(sender, "connect_notify", None)
        if notify is not None:
            try:
                notify(name)
            except TypeError:  # a command or channel: connect_notify(signal, slot)
                notify(name, receiver)


def disconnect(
    receiver: Callable[..., typing.Any],
    signal: typing.Any,
    sender: typing.Any = Any,
    weak: bool = True,
) -> None:
    """Undo :func:`connect`; a no-op if it was not connected."""
    del weak  # PyDispatcher's parameter; matching is by receiver identity
    name = _check_signal(signal)
    table = _existing_table(sender)
    if table is not None and table.remove_signal_receiver(name, receiver):
        notify = getattr(sender, "disconnect_notify", None)
        if notify is not None and sender is not Any:
            try:
                notify(name)
            except TypeError:
                pass  # commands and channels have no disconnect hook


def send(
    signal: typing.Any, sender: typing.Any = Anonymous, *arguments: typing.Any
) -> list[typing.Any]:
    """Send ``signal`` from ``sender`` with ``arguments`` to its receivers.

    The receivers of ``sender`` (the same ones ``sender.emit`` reaches), then
    those connected with ``sender=Any``. Synchronous, in the calling greenlet.

    :returns: ``(receiver, returned value)`` for each receiver that returned.
    :raises Exception: a receiver's exception, only when receiver errors are
        set to raise (tests); otherwise it is logged.
    """
    name = _check_signal(signal)
    responses: list[typing.Any] = []
    table = _existing_table(sender)
    if table is None:
        table = any_sender_table()
    table.dispatch_signal(name, tuple(arguments), responses)
    return responses


class _Dispatcher:
    """The ``dispatcher`` object: :func:`connect`, :func:`disconnect`, :func:`send`."""

    Any = Any
    Anonymous = Anonymous
    connect = staticmethod(connect)
    disconnect = staticmethod(disconnect)
    send = staticmethod(send)

    def __repr__(self) -> str:
        return "<HardwareRepository dispatcher>"


#: What ``from mxcubecore.dispatcher import dispatcher`` gives mxCuBE code.
dispatcher = _Dispatcher()

"""Signals: named notifications from an emitter to its receivers.

Every emitter (hardware object, command, channel) owns its own receiver table.
The global :mod:`HardwareRepository.dispatcher` (mxCuBE's
``dispatcher.connect/send``) is a face of these same tables, plus one table of
receivers that listen to a signal from *any* sender (:func:`any_sender_table`).
The semantics, in one place:

* **References.** A bound method is held *weakly*: connecting
  ``widget.on_value`` does not keep ``widget`` alive, and the receiver is
  dropped when ``widget`` is collected (the mxCuBE habit). Every other callable
  (plain function, lambda, ``functools.partial``, callable object) is held
  *strongly* until it is disconnected or the emitter is closed, so a lambda
  keeps working. Pass ``weak=False`` to hold a bound method strongly.
* **Where receivers run.** Synchronously, in the emitter's greenlet and thread,
  in the order they were connected, before :meth:`SignalEmitter._send` returns.
  The emitters of this package emit only in their owning hub thread (values
  from control-system threads are handed over through
  :mod:`HardwareRepository.bridge` first), so receivers may touch Qt widgets
  when the hub runs in the Qt thread. A receiver may wait cooperatively, but
  this delays the emitter and the later receivers: spawn a greenlet for long
  work.
* **Errors.** An exception raised by one receiver is logged with its traceback
  on the ``HardwareRepository.signals`` logger and the remaining receivers still
  run. With :func:`set_raise_receiver_errors` (``True``, for tests), the
  remaining receivers still run and the first exception is then raised to the
  emitter.
* **Connecting while emitting** is allowed: an emission calls the receivers that
  were connected when it started.
* A receiver connected twice (same callable, same signal) is called once.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import MethodType
from typing import Any

from .bridge import native

__all__ = [
    "SignalEmitter",
    "any_sender_table",
    "raise_receiver_errors",
    "receiver_errors_raise",
    "set_raise_receiver_errors",
]

log = logging.getLogger("HardwareRepository.signals")

# Process-wide switch; read on every emission, written by tests.
_raise_errors = False


def set_raise_receiver_errors(flag: bool) -> bool:
    """Choose whether a failing receiver's exception is raised to the emitter.

    :param flag: ``True`` to raise (after the other receivers ran), ``False``
        (the default) to log it with its traceback and continue.
    :returns: the previous setting.
    """
    global _raise_errors
    previous, _raise_errors = _raise_errors, bool(flag)
    return previous


def receiver_errors_raise() -> bool:
    """Return whether failing receivers currently raise to the emitter."""
    return _raise_errors


@contextmanager
def raise_receiver_errors(flag: bool = True) -> Iterator[None]:
    """Within the ``with`` block, make failing receivers raise (or not)."""
    previous = set_raise_receiver_errors(flag)
    try:
        yield
    finally:
        set_raise_receiver_errors(previous)


# Receivers of a signal from any sender (dispatcher.connect(slot, signal)).
# Created on first use; read on every emission, so kept as one module global.
_any_sender: SignalEmitter | None = None


def any_sender_table() -> SignalEmitter:
    """Return the emitter holding the receivers of a signal from any sender.

    Every :meth:`SignalEmitter._send` also calls its receivers for the signal
    sent, after the sender's own receivers.
    """
    global _any_sender
    if _any_sender is None:
        _any_sender = SignalEmitter()
    return _any_sender


class _Receiver:
    """One connected callable, strong or weak (bound methods)."""

    __slots__ = ("key", "strong", "weak")

    def __init__(self, func: Callable[..., Any], weak: bool, on_dead: Any) -> None:
        if weak and isinstance(func, MethodType):
            self.weak: Any = weakref.WeakMethod(func, on_dead)
            self.strong = None
            self.key = (id(func.__self__), id(func.__func__))
        else:
            self.weak = None
            self.strong = func
            self.key = _key(func)

    def get(self) -> Callable[..., Any] | None:
        if self.weak is None:
            return self.strong
        return self.weak()


def _key(func: Callable[..., Any]) -> tuple[int, int]:
    if isinstance(func, MethodType):
        return (id(func.__self__), id(func.__func__))
    return (id(func), 0)


class SignalEmitter:
    """Mixin giving an object its own signals.

    Thread use: connect, disconnect and emit from the owning hub thread. The
    tables are copy-on-write and their writers serialised by a native lock, so
    a connection made from another thread is safe too (it is seen by the next
    emission).

    The receiver table's interface (:meth:`add_signal_receiver`,
    :meth:`remove_signal_receiver`, :meth:`signal_receivers`,
    :meth:`receivers_snapshot`, :meth:`dispatch_signal`) is what the package's
    faces build on: items' ``connect_signal``, hardware objects' ``connect``,
    the :mod:`~HardwareRepository.dispatcher` and the repository's reload.
    Application code uses those faces.
    """

    # Created lazily: most objects of a large configuration never get a receiver.
    _signal_table: dict[str, list[_Receiver]] | None = None
    _signal_lock: Any = None

    def _receivers_lock(self) -> Any:
        lock = self._signal_lock
        if lock is None:
            lock = self._signal_lock = native.allocate_lock()
        return lock

    def add_signal_receiver(
        self, signal: str, func: Callable[..., Any], weak: bool = True
    ) -> bool:
        """Connect ``func`` to ``signal``; any thread.

        Args:
            signal: the signal's name.
            func: the receiver; see the module doc for how it is held.
            weak: hold a bound method weakly (other callables are always held
                strongly).

        Returns:
            ``False`` if ``func`` was already connected to ``signal``.

        Raises:
            TypeError: ``func`` is not callable.
        """
        if not callable(func):
            raise TypeError(f"cannot connect {func!r} to {signal!r}: not callable")
        # Weak, so that a receiver's weak reference never keeps the emitter.
        prune = weakref.WeakMethod(self._prune)

        def on_dead(_ref: Any, signal: str = signal) -> None:
            method = prune()
            if method is not None:
                method(signal)

        receiver = _Receiver(func, weak, on_dead)
        with self._receivers_lock():
            table = self._signal_table
            if table is None:
                table = self._signal_table = {}
            current = table.get(signal, [])
            for existing in current:
                if existing.key == receiver.key and existing.get() is not None:
                    return False
            table[signal] = [*current, receiver]
        return True

    def remove_signal_receiver(self, signal: str, func: Callable[..., Any]) -> bool:
        """Disconnect ``func`` from ``signal``; any thread.

        Returns:
            Whether it was connected.
        """
        key = _key(func)
        with self._receivers_lock():
            table = self._signal_table
            if not table or signal not in table:
                return False
            current = table[signal]
            kept = [r for r in current if r.key != key]
            if len(kept) == len(current):
                return False
            if kept:
                table[signal] = kept
            else:
                del table[signal]
        return True

    def _prune(self, signal: str) -> None:
        with self._receivers_lock():
            table = self._signal_table
            if not table or signal not in table:
                return
            kept = [r for r in table[signal] if r.get() is not None]
            if kept:
                table[signal] = kept
            else:
                del table[signal]

    def signal_receivers(self, signal: str) -> Sequence[_Receiver]:
        """Return the receivers of ``signal`` now, in connection order; any thread.

        The sequence is never changed afterwards (the table is copy-on-write);
        a receiver's ``get()`` gives its callable, or ``None`` once a weakly
        held one is gone.
        """
        table = self._signal_table
        return table.get(signal, ()) if table else ()

    def receivers_snapshot(self) -> dict[str, Sequence[_Receiver]]:
        """Return the receivers of every signal now (see :meth:`signal_receivers`).

        For carrying receivers over to a replacement object; with each
        receiver's ``weak`` (not ``None`` for a weakly held one), pass its
        ``get()`` to :meth:`add_signal_receiver` of the new emitter.
        """
        return dict(self._signal_table or {})

    def dispatch_signal(
        self,
        signal: str,
        args: tuple[Any, ...],
        responses: list[tuple[Callable[..., Any], Any]] | None = None,
    ) -> None:
        """Call the receivers of ``signal`` with ``args`` exactly as given.

        The dispatcher's ``send``; see :meth:`_send` for the order and the
        errors. ``responses``, if given, receives ``(receiver, returned value)``
        per receiver that returned.
        """
        self._send(signal, args, responses)

    def _clear_receivers(self) -> None:
        """Disconnect every receiver of every signal (used at close/discard)."""
        with self._receivers_lock():
            self._signal_table = None

    def _has_receivers(self, signal: str) -> bool:
        table = self._signal_table
        return bool(table and table.get(signal))

    def _receiver_count(self, signal: str) -> int:
        table = self._signal_table
        if not table:
            return 0
        return sum(1 for r in table.get(signal, ()) if r.get() is not None)

    def _send(
        self,
        signal: str,
        args: tuple[Any, ...],
        responses: list[tuple[Callable[..., Any], Any]] | None = None,
    ) -> None:
        """Call every receiver of ``signal`` with ``args``, exactly as given.

        Then the receivers of ``signal`` from any sender (see
        :func:`any_sender_table`).

        :param responses: if given, ``(receiver, returned value)`` is appended
            for each receiver that returned (the dispatcher's ``send`` result).
        :raises Exception: the first receiver exception, only when
            :func:`set_raise_receiver_errors` is on; otherwise receiver errors
            are logged with their traceback.
        """
        table = self._signal_table
        anywhere = _any_sender
        if table is None and anywhere is None:
            return  # the usual case while a configuration loads
        receivers = table.get(signal) if table else None
        if anywhere is not None and anywhere is not self:
            anywhere_receivers = anywhere.signal_receivers(signal)
            if anywhere_receivers:
                receivers = [*(receivers or ()), *anywhere_receivers]
        if not receivers:
            return
        first_error: BaseException | None = None
        for receiver in receivers:
            # Inline _Receiver.get(): this runs once per receiver per value.
            func = receiver.strong
            if func is None:
                func = receiver.weak()
                if func is None:
                    continue
            try:
                result = func(*args)
            except Exception as exc:
                if _raise_errors and first_error is None:
                    first_error = exc
                else:
                    log.exception(
                        "receiver %r of signal %r from %r failed", func, signal, self
                    )
            else:
                if responses is not None:
                    responses.append((func, result))
        if first_error is not None:
            raise first_error

    def _send_to(
        self, signal: str, receiver: Callable[..., Any], args: tuple[Any, ...]
    ) -> None:
        """Call one ``receiver`` of ``signal`` as :meth:`_send` would call it."""
        try:
            receiver(*args)
        except Exception:
            if _raise_errors:
                raise
            log.exception(
                "receiver %r of signal %r from %r failed", receiver, signal, self
            )

"""Commands and channels on control systems, and the container holding them.

The object layer of commands and channels; control-system backends live in
:mod:`HardwareRepository.Command` and plug in through the type registry here.

Plug-in contract for a control-system type (Tango, Taco, TINE, sim, yours)
==========================================================================

A *type* is a name used in XML (``<channel type="tango" ...>``) bound to a
*provider*: a module (imported lazily, on first use) or any object. Bind it with
:func:`register_type` (also importable as
``HardwareRepository.Command.register_type``)::

    register_type("epics", "mypackage.epics_backend")   # module path, lazy
    register_type("fake", FakeProvider())               # or an object

The built-in names ``sim``, ``tango``, ``taco`` and ``tine`` map to
``HardwareRepository.Command.Sim``, ``.Tango``, ``.Taco`` and ``.Tine``.

The provider defines (both optional; a missing one means "this type has no
commands" or "no channels", reported as a configuration error):

``make_command(name, text, attrs, owner) -> CommandObject``
``make_channel(name, text, attrs, owner) -> ChannelObject``

* ``name``: the ``name=`` attribute, always a ``str`` (never converted).
* ``text``: the element text, stripped (Tango: the attribute or command name;
  TINE: the property; Taco: the command); ``""`` if empty.
* ``attrs``: the other XML attributes of the element (``type`` and ``name``
  removed) converted by the usual rules (None/int/float/bool/str), so
  ``polling="1000"`` is the int ``1000``. XML times are in **milliseconds**
  (``timeout``, ``polling``) as in mxCuBE; the provider converts them to
  seconds, the unit of every Python API of this package. ``username`` is
  present when the XML gives it.
* Device names are inherited from the owning object: the provider lists in a
  module attribute ``INHERITED_PROPERTIES`` the attributes it wants filled from
  the owner's properties when the element does not give them, either as a
  sequence of names (``("tangoname",)``) or as a mapping from attribute name to
  the property names tried in order (``{"tinename": ("tinename", "tine_name")}``).
  The container does the filling, so ``attrs`` already holds them.
* ``owner``: the :class:`CommandContainer` (usually the hardware object); use
  ``owner.get_property(name)`` for anything else, never keep a strong
  reference to it in a long-lived callback.

Both factories run in the thread that loads the configuration (the hub thread
of the application) while the object is being loaded. They must not block for
long: create the proxy/link, start polling or subscriptions, and return. **A
control system that is unavailable must not make the factory raise**: return
the object in the disconnected state (``is_connected()`` false) and connect
later, announcing it with :meth:`ChannelObject.set_connected`. Raise
:class:`~HardwareRepository.errors.ConfigError` only for a wrong configuration
(an unknown attribute value, a missing device name) and let an ``ImportError``
of the client library propagate; the container turns any exception into an
error naming the file, line, object and item, and the object loads without
that item.

Adding a control system: two backends and two factories
--------------------------------------------------------
Write a :class:`ChannelBackend` and a :class:`CommandBackend` (typed
protocols, generic in the value type) and factories that build them and wrap
them::

    class EpicsChannelBackend:                  # satisfies ChannelBackend[float]
        def source(self) -> str: ...
        def connect(self, on_connection: ConnectionListener) -> None: ...
        def read(self, timeout: float | None) -> Reading[float]: ...
        def write(self, value: float, timeout: float | None) -> None: ...
        def subscribe(self, on_reading: ReadingListener[float]) -> None: ...
        def unsubscribe(self) -> None: ...
        def close(self) -> None: ...

    def make_channel(name, text, attrs, owner) -> ChannelObject:
        backend = EpicsChannelBackend(pv=text, ...)
        return ChannelObject(name, attrs.pop("username", None), backend=backend)

The object layer then does the rest once for every control system: it connects
the backend and subscribes to its readings when the channel is created; a
reading or connection change the backend reports from its own thread reaches
the hub in order and is stored and emitted there; ``get_value(force=True)`` (or
a first ``get_value`` without a cached value) reads through the backend and
emits ``update`` when the value or quality changed; ``set_value`` writes
through it; ``close`` unsubscribes and closes it. A :class:`CommandObject` with
a backend applies ``wait=`` and ``timeout=``, emits the command signals and
calls :meth:`CommandBackend.call` in a greenlet of its hub. Subclass
:class:`ChannelObject` / :class:`CommandObject` (with the backend passed to
``super().__init__``) only to keep an mxCuBE class name or add type-specific
methods; :mod:`HardwareRepository.Command.Sim` is the smallest example.

Threads: the object layer calls a backend only in its hub thread, from a
greenlet that may wait cooperatively, so a backend hands blocking client calls
to a worker thread and waits on an
:class:`~HardwareRepository.bridge.AsyncResult`. The backend calls its
listeners (``on_reading``, ``on_connection``) from any thread -- its client's
event thread, a poller thread, a socket reader -- and those calls never block.
Errors: ``read``/``write``/``call`` raise
:class:`~HardwareRepository.errors.NotConnectedError`,
:class:`~HardwareRepository.errors.CommunicationError` /
:class:`~HardwareRepository.errors.CommandFailedError` (the client's error as
``__cause__``) or :class:`~HardwareRepository.errors.Timeout`, each naming
device and attribute or command.

The older way, for types written before the contract: subclass without a backend
----------------------------------------------------------------------------------
A command type overrides ``_execute(*args, **kwargs)``: perform the command
and return its value, or raise. It always runs in a greenlet of the owning hub
thread (the thread that created the command), so it may wait cooperatively (a
gevent-green proxy, :mod:`HardwareRepository.bridge` primitives,
``gevent.sleep``) but must never block the thread: hand blocking client calls
to a worker thread and wait on an
:class:`~HardwareRepository.bridge.AsyncResult`. It may be interrupted by
:class:`~HardwareRepository.errors.Timeout` or ``GreenletExit`` at any
cooperative wait. A failure raises an exception naming the device and command
(:class:`~HardwareRepository.errors.CommandFailedError` with the control
system's error as ``__cause__``, or
:class:`~HardwareRepository.errors.NotConnectedError`); never return ``None``
to signal a failure. Optionally ``_abort()``, ``close()`` (call
``super().close()``), ``is_connected()``.

A channel type overrides ``get_value(force=False, timeout=None)`` and, if
writable, ``set_value(value, timeout=None)``; it delivers new values with
:meth:`ChannelObject.update` (hub thread) or
:meth:`ChannelObject.update_threadsafe` (any thread) with a :class:`Quality`,
reports the connection with :meth:`ChannelObject.set_connected` /
:meth:`ChannelObject.set_connected_threadsafe`, and releases what it holds in
``close()`` (idempotent, bounded in time, hub thread; call ``super().close()``
at the end). The repository calls ``close`` at
:meth:`~HardwareRepository.HardwareRepository.HardwareRepository.shutdown` and
when an object is discarded.

Signals
=======
Command: ``commandBeginWaitReply(name)``, ``commandReplyArrived(value, name)``,
``commandFailed(exception, name)`` (mxCuBE sent ``-1`` instead of the
exception), plus ``connectionStateChanged(connected)``.
Channel: ``update(value)`` -- also sent to a new receiver at once when a value
is known -- ``qualityChanged(quality)``, ``connectionStateChanged(connected)``
and the legacy argument-less ``connected`` / ``disconnected``. Receivers attach
with ``connect_signal(signal, receiver)``. Semantics (weak bound methods,
synchronous delivery in the hub thread, failing receivers logged) are those of
:mod:`HardwareRepository._signals`.
"""

from ..policies import NOT_INITIALIZED
from ._backend import (
    ChannelBackend,
    CommandBackend,
    ConnectionListener,
    Reading,
    ReadingListener,
)
from ._channel import ChannelObject
from ._command import (
    ARGUMENT_TYPE_JSON_SCHEMA,
    ARGUMENT_TYPE_LIST,
    PROCEDURE_COMMAND_T,
    TWO_STATE_COMMAND_T,
    CommandObject,
)
from ._container import CommandContainer
from ._quality import Quality
from ._registry import (
    get_type,
    lingering,
    register_type,
    registered_types,
    unregister_type,
)

__all__ = [
    "ARGUMENT_TYPE_JSON_SCHEMA",
    "ARGUMENT_TYPE_LIST",
    "NOT_INITIALIZED",
    "PROCEDURE_COMMAND_T",
    "TWO_STATE_COMMAND_T",
    "ChannelBackend",
    "ChannelObject",
    "CommandBackend",
    "CommandContainer",
    "CommandObject",
    "ConnectionListener",
    "Quality",
    "Reading",
    "ReadingListener",
    "get_type",
    "lingering",
    "register_type",
    "registered_types",
    "unregister_type",
]

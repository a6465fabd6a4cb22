"""Every assumption about gevent's internals that the Qt integration makes.

This is the only module of :mod:`HardwareRepository.qtloop` that touches
gevent below its public API. It relies on:

* gevent's libuv loop (``gevent.libuv.loop.loop``), a pure-Python cffi class
  that can be subclassed; its private hooks ``run_callback`` (called for every
  ``loop.run_callback``) and ``_queue_callback`` (called from C for every
  watcher that fired during ``uv_run``), and its private queues ``_callbacks``
  and ``_queued_callbacks``;
* ``uv_backend_fd`` (the epoll descriptor that becomes readable when any
  watched descriptor, including the async watchers' eventfd, is ready) and
  ``uv_backend_timeout`` (milliseconds until the next timer, ``-1`` for none),
  from ``gevent.libuv._corecffi.lib``;
* ``loop.run(nowait=True)`` running one non-blocking libuv iteration and then
  the watcher callbacks it queued;
* the :class:`gevent.hub.Hub` contract: ``run()`` must never return and sets
  ``loop.error_handler`` while it runs; ``gevent.hub.set_hub`` and
  ``gevent._hub_local.get_hub_if_exists`` read and set the hub of a thread.

``tests/qtloop/test_gevent_internals.py`` checks each of these and fails
loudly, naming the assumption, when a gevent upgrade breaks one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import gevent
from gevent._hub_local import get_hub_if_exists  # noqa: PLC2701 (see the module doc)
from gevent.hub import Hub, set_hub

__all__ = [
    "TESTED_GEVENT_VERSIONS",
    "EmbeddableLoop",
    "Hub",
    "backend_fd",
    "check_assumptions",
    "get_hub_if_exists",
    "has_pending_callbacks",
    "next_timeout_ms",
    "run_hub_forever",
    "run_nowait",
    "run_once_blocking",
    "set_hub",
]

#: gevent releases (major.minor) this module was tested with.
TESTED_GEVENT_VERSIONS = ("26.9",)

try:
    from gevent.libuv import _corecffi  # noqa: PLC2701 (see the module doc)
    from gevent.libuv import loop as _uv_loop_module
except ImportError as exc:  # gevent built without libuv or without cffi
    raise ImportError(
        "HardwareRepository.qtloop needs gevent's libuv loop "
        "(gevent.libuv, which needs cffi): " + str(exc)
    ) from exc

_lib = _corecffi.lib
_UvLoop = _uv_loop_module.loop


class EmbeddableLoop(_uv_loop_module.loop):
    """A gevent libuv loop that counts what could need another iteration.

    ``activity`` grows whenever a callback is scheduled (``run_callback``, from
    any thread) or a watcher fired (queued from C during ``uv_run``), and when
    an io or timer watcher is created. The Qt side compares it before and after
    running code to know whether the loop must run again before Qt may block.
    It is a hint, not an exact count (increments from other threads may race).
    """

    activity = 0

    def run_callback(self, func: Callable[..., Any], *args: Any) -> Any:
        self.activity += 1
        return super().run_callback(func, *args)

    def _queue_callback(self, watcher_ptr: Any, revents: int) -> None:
        self.activity += 1
        super()._queue_callback(watcher_ptr, revents)

    def io(self, fd: int, events: int, ref: bool = True, priority: Any = None) -> Any:
        self.activity += 1
        return super().io(fd, events, ref, priority)

    def timer(
        self,
        after: float,
        repeat: float = 0.0,
        ref: bool = True,
        priority: Any = None,
    ) -> Any:
        self.activity += 1
        return super().timer(after, repeat, ref, priority)


def backend_fd(loop: EmbeddableLoop) -> int:
    """Return the descriptor that is readable whenever ``loop`` has I/O ready."""
    fd = _lib.uv_backend_fd(loop.ptr)
    if fd < 0:
        raise RuntimeError(f"libuv loop {loop!r} has no backend descriptor")
    return fd


def next_timeout_ms(loop: EmbeddableLoop) -> int:
    """Return milliseconds until the loop's next timer is due, ``-1`` for none.

    The loop's cached time is refreshed first, so time spent in greenlets since
    the last iteration is not counted twice. The result is ``0`` when the loop
    has idle watchers or pending callbacks.
    """
    if has_pending_callbacks(loop):
        return 0
    loop.update_now()
    return int(_lib.uv_backend_timeout(loop.ptr))


def has_pending_callbacks(loop: EmbeddableLoop) -> bool:
    """Whether callbacks are queued that the next iteration will run."""
    return bool(loop._callbacks) or bool(loop._queued_callbacks)


def run_nowait(loop: EmbeddableLoop) -> None:
    """Run one libuv iteration without blocking, then the callbacks it queued."""
    loop.run(nowait=True)


def run_once_blocking(loop: EmbeddableLoop) -> None:
    """Run one libuv iteration, blocking until a watcher or timer is due."""
    loop.run(once=True)


def run_hub_forever(hub: Hub, step: Callable[[], None]) -> None:
    """Body of ``Hub.run`` for a hub whose loop is driven by ``step``.

    Keeps gevent's contract: the loop reports errors to the hub while it runs,
    and the function never returns (it ends only by an exception thrown into
    the hub, e.g. ``HubDestroyed``).
    """
    loop = hub.loop
    loop.error_handler = hub
    try:
        while True:
            step()
    finally:
        loop.error_handler = None


def check_assumptions() -> list[str]:
    """Return what this module assumes about gevent that does not hold now.

    An empty list means every assumption holds. Called by the test suite.
    """
    problems = []
    version = ".".join(gevent.__version__.split(".")[:2])
    if version not in TESTED_GEVENT_VERSIONS:
        problems.append(
            f"gevent {gevent.__version__} was never tested "
            f"(tested: {', '.join(TESTED_GEVENT_VERSIONS)})"
        )
    for name in ("uv_backend_fd", "uv_backend_timeout"):
        if not hasattr(_lib, name):
            problems.append(f"gevent.libuv._corecffi.lib has no {name}")
    for name in ("run_callback", "_queue_callback", "io", "timer", "run", "update_now"):
        if not callable(getattr(_UvLoop, name, None)):
            problems.append(f"gevent.libuv.loop.loop has no method {name}()")
    if not callable(getattr(Hub, "run", None)):
        problems.append("gevent.hub.Hub has no run()")
    return problems

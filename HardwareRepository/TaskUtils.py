"""mxCuBE's task helpers: run a method in a greenlet, clean up after it.

``@task`` makes a function run in a new greenlet of the calling thread's hub::

    @task
    def move_and_wait(self, value): ...

    motor.move_and_wait(3.0)                        # waits, returns the result
    motor.move_and_wait(3.0, timeout=5)             # gevent.Timeout after 5 s
    job = motor.move_and_wait(3.0, wait=False)      # a TaskGreenlet at once
    job.get()                                       # the result, or its exception

Differences from mxcubecore: an exception reaches the caller as itself, with
its traceback (mxcubecore re-created it from its type and message, losing the
traceback and breaking exceptions whose constructor takes other arguments);
a failure of a task nobody waits for (``wait=False``) is logged on
``HardwareRepository.tasks`` instead of printed. A timeout is still
``gevent.Timeout``, which mxCuBE code catches.

On the bridge: called from a thread other than the one owning the hardware
objects (a Qt worker, a control-system callback thread), the task runs in a
greenlet of the owning thread's hub -- the process-wide repository's -- and
the caller waits natively; ``wait=False`` then returns an
:class:`~HardwareRepository.bridge.AsyncResult` whose ``get()`` works from any
thread. Without a repository the task runs in the calling thread's hub.

``cleanup(f, g, **kw)`` calls ``f(**kw)`` and ``g(**kw)`` when the ``with``
block ends; ``error_cleanup`` only when it ends with an exception. A failing
cleanup function is logged and the others still run; the block's exception
is never replaced.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from types import TracebackType
from typing import Any

import gevent

from . import _current

__all__ = ["TaskGreenlet", "cleanup", "error_cleanup", "task"]

log = logging.getLogger("HardwareRepository.tasks")


class TaskGreenlet(gevent.Greenlet):
    """The greenlet of a ``@task`` run with ``wait=False``.

    :meth:`get` returns the function's result or raises its exception (with
    its traceback); the exception is not printed by the hub. As in
    mxcubecore, the greenlet itself ends normally (``successful()`` is true);
    :attr:`task_exception` says whether the function raised.
    """

    def __init__(
        self,
        func: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        log_errors: bool,
    ) -> None:
        super().__init__(self._guarded, func, args, kwargs)
        self._task_error: BaseException | None = None
        self._task_log_errors = log_errors

    def _guarded(
        self, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            self._task_error = exc
            if self._task_log_errors:
                log.error("task %s failed", _name(func), exc_info=exc)
            return None

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """Return the result; raise the task's exception or ``gevent.Timeout``."""
        value = super().get(block, timeout)
        if self._task_error is not None:
            raise self._task_error
        return value

    @property
    def task_exception(self) -> BaseException | None:
        """The exception the task raised, if any."""
        return self._task_error


def _name(func: Callable[..., Any]) -> str:
    return getattr(func, "__qualname__", repr(func))


def task(func: Callable[..., Any]) -> Callable[..., Any]:
    """Make ``func`` run in a new greenlet; see the module docstring.

    The decorated function takes two more keyword arguments: ``wait`` (default
    ``True``: wait and return the result) and ``timeout`` (seconds, with
    ``wait``; then the greenlet is killed and ``gevent.Timeout`` raised).
    Call it from a greenlet of the hub that owns the objects.
    """

    def start_here(
        args: tuple[Any, ...], kwargs: dict[str, Any], wait: bool, timeout: float | None
    ) -> Any:
        log.debug("starting %s", _name(func))
        job = TaskGreenlet(func, args, kwargs, log_errors=not wait)
        job.start()
        if not wait:
            return job
        try:
            return job.get(timeout=timeout)
        except BaseException:
            job.kill(block=False)
            raise

    @functools.wraps(func)
    def start_task(
        *args: Any, wait: bool = True, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        repository = _current.get_current()
        launcher = getattr(repository, "launcher", None)
        if launcher is None or launcher.bridge.in_hub_thread():
            return start_here(args, kwargs, wait, timeout)
        if wait:  # the owning hub applies the timeout and kills the task
            return launcher.apply(start_here, args, kwargs, True, timeout)
        return launcher.apply_async(start_here, args, kwargs, True, None)

    return start_task


class _Cleanup:
    """Call the functions when the block ends (``only_on_error``: if it failed)."""

    only_on_error = False

    def __init__(self, *funcs: Callable[..., Any], **keys: Any) -> None:
        self._funcs = funcs
        self._keys = keys

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.only_on_error and exc_type is None:
            return
        for func in self._funcs:
            if not callable(func):
                continue
            try:
                func(**self._keys)
            except Exception:
                log.exception("cleanup function %s failed", _name(func))


class cleanup(_Cleanup):  # noqa: N801 (mxCuBE's name)
    """``with cleanup(f, **keys):`` -- call ``f(**keys)`` when the block ends."""


class error_cleanup(_Cleanup):  # noqa: N801 (mxCuBE's name)
    """``with error_cleanup(f, **keys):`` -- call ``f(**keys)`` if the block raised."""

    only_on_error = True

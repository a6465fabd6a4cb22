"""What a :class:`~HardwareRepository.compat.fandango.WorkerProcess` child runs.

The parent sends these module-level functions (by reference, pickled) to its
child process, which keeps the bound executor and the idle watchdog here. Only
the standard library is used: nothing here touches gevent.

Targets are resolved by name, as attributes of the bound executor: a string is
never evaluated.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["IDLE_EXIT_CODE", "bind", "keep_alive", "run", "start"]

#: the child's exit status when it ends because nothing reached it for its idle
#: timeout (no request and no keep-alive from the parent)
IDLE_EXIT_CODE = 75

# Process-wide state of the child. "heard" is the monotonic time of the last
# message from the parent; "busy" counts the jobs running (a long job is not
# idleness). Written by the serving thread, read by the watchdog; each is a
# single reference assignment, atomic under the GIL.
_state: dict[str, Any] = {"executor": None, "heard": time.monotonic(), "busy": 0}


def _heard(job: Callable[..., Any]) -> Callable[..., Any]:
    def run_job(*args: Any) -> Any:
        _state["heard"] = time.monotonic()
        _state["busy"] += 1
        try:
            return job(*args)
        finally:
            _state["busy"] -= 1
            _state["heard"] = time.monotonic()

    run_job.__name__ = run_job.__qualname__ = job.__name__
    run_job.__doc__ = job.__doc__
    return run_job


def start(executor: Any, idle_timeout: float) -> None:
    """Keep ``executor`` and watch for idleness; the child's first job.

    Args:
        executor: the object whose attributes string targets name, or ``None``.
        idle_timeout: seconds without any message from the parent after which
            the child exits with :data:`IDLE_EXIT_CODE`; 0 never.
    """
    _state["executor"] = executor
    _state["heard"] = time.monotonic()
    if idle_timeout > 0:
        watchdog = threading.Thread(
            target=_watch, args=(idle_timeout,), name="idle-watchdog", daemon=True
        )
        watchdog.start()


def _watch(idle_timeout: float) -> None:
    step = min(idle_timeout / 4, 0.5)
    while True:
        time.sleep(step)
        if not _state["busy"] and time.monotonic() - _state["heard"] > idle_timeout:
            os._exit(IDLE_EXIT_CODE)


def _call(func: Callable[..., Any], args: Any) -> Any:
    if args is None:
        return func()
    if isinstance(args, Mapping):
        return func(**args)
    if isinstance(args, (list, tuple)):
        return func(*args)
    return func(args)


def _executor_entry(executor: Any) -> Callable[..., Any] | None:
    process = getattr(executor, "process", None)
    if callable(process):
        return process
    return executor if callable(executor) else None


@_heard
def bind(target: Any, args: Any = None) -> str:
    """Make ``target`` (or ``target(*args)`` if ``args`` is given) the executor.

    Returns:
        the new executor's ``repr``.

    Raises:
        TypeError: ``target`` is a string (never evaluated).
    """
    if isinstance(target, str):
        raise TypeError(
            f"bind({target!r}): strings are not evaluated; pass a class or an object"
        )
    executor = _call(target, args) if args is not None and callable(target) else target
    _state["executor"] = executor
    return repr(executor)


@_heard
def run(target: Any, args: Any = None) -> Any:
    """Resolve ``target`` against the executor, as fandango does, and call it.

    * no ``args`` and an executor with a ``process`` method (or a callable
      executor): ``executor.process(target)`` (``executor(target)``);
    * a string: the executor's attribute of that name, called with ``args``;
    * a callable: called with ``args``; a list ``[callable, *args]``: the same;
    * anything else: returned as it is.

    ``args`` is spread: a mapping as keywords, a list or tuple as positional
    arguments, anything else as the one argument.

    Raises:
        AttributeError: a string names nothing of the executor (or there is none).
    """
    executor = _state["executor"]
    entry = _executor_entry(executor) if args is None else None
    if entry is not None:
        return entry(target)
    if isinstance(target, str):
        try:
            func = getattr(executor, target)
        except AttributeError:
            raise AttributeError(
                f"the bound executor {executor!r} has no attribute {target!r} "
                "(string targets are attribute names, never evaluated)"
            ) from None
        return _call(func, args) if callable(func) else func
    if callable(target):
        return _call(target, args)
    if isinstance(target, (list, tuple)) and target and callable(target[0]):
        return _call(target[0], list(target[1:]))
    return target


@_heard
def keep_alive() -> None:
    """Tell the child that the parent is alive (resets its idle clock)."""

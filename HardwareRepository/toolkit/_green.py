"""``@green``: give any blocking function ``wait=`` and ``timeout=`` keywords."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, overload

from greenlet import getcurrent

from ..bridge import AsyncResult, get_hub_if_exists
from ..errors import Timeout
from ._common import start_native_thread

__all__ = ["green", "run_in_thread"]

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


class _Executor(Protocol):
    def submit(
        self, func: Callable[..., Any], *args: Any, **kwargs: Any
    ) -> AsyncResult[Any]: ...


def run_in_thread(func: Callable[..., T], *args: Any, **kwargs: Any) -> AsyncResult[T]:
    """Run ``func(*args, **kwargs)`` in a new real thread; safe from anywhere.

    The thread ends when ``func`` returns; it creates no gevent object.

    :returns: the result, set from that thread (waitable by greenlets and threads).
    """
    result: AsyncResult[T] = AsyncResult(name=getattr(func, "__qualname__", None))

    def main() -> None:
        try:
            value = func(*args, **kwargs)
        except BaseException as exc:
            result.set_exception(exc)
        else:
            result.set(value)

    start_native_thread(main)
    return result


def _in_greenlet() -> bool:
    hub = get_hub_if_exists()
    return hub is not None and getcurrent() is not hub


@overload
def green(func: F) -> F: ...


@overload
def green(
    func: None = None,
    *,
    timeout: float | None = None,
    executor: _Executor | None = None,
) -> Callable[[F], F]: ...


def green(
    func: Callable[..., Any] | None = None,
    *,
    timeout: float | None = None,
    executor: _Executor | None = None,
) -> Any:
    """Add ``wait=True`` and ``timeout=`` keywords to a blocking function.

    The decorated function runs in another real thread so that the hub keeps
    running while it blocks: a new thread per call, or the ``executor`` (a
    :class:`~HardwareRepository.toolkit.SerialWorker` or
    :class:`~HardwareRepository.toolkit.ProcessWorker`) when given. The caller
    then gets, whatever thread or greenlet it runs in:

    * ``wait=True`` (default): the return value, or the exception with its
      original traceback; a greenlet waits cooperatively, a thread natively;
    * ``wait=False``: an :class:`~HardwareRepository.bridge.AsyncResult` at once.

    A plain thread calling with ``wait=True`` and no timeout runs the function
    inline (same result, no extra thread); so does a call made from inside
    ``executor``'s own thread, where queueing would deadlock.

    :param timeout: default seconds to wait (per call: ``timeout=``); on expiry
        :class:`~HardwareRepository.errors.Timeout` is raised and **the call
        goes on** in its thread; its result is dropped.
    :param executor: where to run the calls instead of a new thread each.
    """

    def decorate(function: F) -> F:
        default_timeout = timeout

        @functools.wraps(function)
        def wrapper(
            *args: Any, wait: bool = True, timeout: Any = _DEFAULT, **kwargs: Any
        ) -> Any:
            limit = default_timeout if timeout is _DEFAULT else timeout
            if wait and limit is None and _runs_inline(executor):
                return function(*args, **kwargs)
            if executor is not None and _in_executor(executor):
                result: AsyncResult[Any] = AsyncResult(name=function.__qualname__)
                try:
                    result.set(function(*args, **kwargs))
                except BaseException as exc:
                    result.set_exception(exc)
            elif executor is not None:
                result = executor.submit(function, *args, **kwargs)
            else:
                result = run_in_thread(function, *args, **kwargs)
            if not wait:
                return result
            try:
                return result.get(limit)
            except Timeout as exc:
                if result.ready():
                    return result.get(0)
                raise Timeout(
                    f"{function.__qualname__} did not return within {limit} s "
                    "(it is still running in its thread)"
                ) from exc

        return wrapper  # type: ignore[return-value]

    if func is not None:
        return decorate(func)
    return decorate


_DEFAULT: Any = object()


def _in_executor(executor: _Executor) -> bool:
    check = getattr(executor, "in_worker_thread", None)
    return bool(check is not None and check())


def _runs_inline(executor: _Executor | None) -> bool:
    if executor is not None:
        return _in_executor(executor)
    return not _in_greenlet()

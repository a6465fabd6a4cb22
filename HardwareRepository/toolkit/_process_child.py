"""The main function of a :class:`~HardwareRepository.toolkit.ProcessWorker` child.

Kept apart so that the child process imports as little as possible. It uses
no gevent and no threads: it reads one request at a time from its pipe.
"""

from __future__ import annotations

import pickle
import traceback
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any


def _describe(exc: BaseException) -> tuple[BaseException, str]:
    text = "".join(traceback.format_exception(exc))
    try:
        pickle.dumps(exc)
    except Exception:
        exc = RuntimeError(f"{type(exc).__qualname__}: {exc}")
    return exc, text


def child_main(conn: Connection, init: Callable[[], Any] | None) -> None:
    """Serve ``(job_id, func, args, kwargs)`` requests until ``None`` or EOF.

    Each reply is ``(job_id, True, value)`` or ``(job_id, False, (exception,
    formatted traceback))``. A failing ``init`` is reported as job ``0``.
    """
    try:
        if init is not None:
            try:
                init()
            except BaseException as exc:
                conn.send((0, False, _describe(exc)))
                return
        while True:
            try:
                request = conn.recv()
            except EOFError:
                return
            if request is None:
                return
            job_id, func, args, kwargs = request
            try:
                reply = (job_id, True, func(*args, **kwargs))
            except BaseException as exc:
                reply = (job_id, False, _describe(exc))
            try:
                conn.send(reply)
            except Exception as exc:  # the value could not be pickled
                conn.send((job_id, False, _describe(exc)))
    finally:
        conn.close()

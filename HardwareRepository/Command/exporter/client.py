"""One connection to one Exporter server, with its own reader thread.

:class:`ExporterClient` owns a TCP connection and one native I/O thread that
connects, reconnects, writes the requests, reads and decodes the frames,
matches each reply with the oldest request still waiting (the protocol has no
request ids: replies come in request order), and hands events and connection
changes to its listeners. It knows nothing of gevent hubs: listeners are
called in the I/O thread, and a request's result is a
:class:`~HardwareRepository.bridge.AsyncResult` that any thread or greenlet can
wait on.

Failures never break the connection for the other users:

* an ``ERR:`` reply fails that request with
  :class:`~HardwareRepository.errors.CommandFailedError`;
* a malformed or oversized frame where a reply was due fails the oldest
  request with :class:`ExporterProtocolError`; one that looked like an event is
  logged; either way the stream resumes at the next frame;
* a reply that does not come within the caller's timeout raises
  :class:`~HardwareRepository.errors.Timeout` to the caller; the request keeps
  its place so that a late reply is recognised and dropped, and if it still has
  not come ``late_reply_grace`` seconds later the client reconnects (the
  replies could no longer be matched otherwise);
* a server that closes the connection or dies fails the requests in flight
  with :class:`~HardwareRepository.errors.NotConnectedError`, reports
  ``connected=False`` at once and reconnects every ``reconnect_delay`` seconds.

Every message names the server (``host:port``) and the method or property.
"""

from __future__ import annotations

import logging
import select
import socket
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from ...bridge import AsyncResult, Event
from ...bridge.native import allocate_lock, monotonic, start_new_thread
from ...errors import (
    CommandFailedError,
    CommunicationError,
    NotConnectedError,
    Timeout,
)
from .protocol import (
    MAX_FRAME_BYTES,
    EventMessage,
    FrameDecoder,
    FrameError,
    ReplyKind,
    ReplyMessage,
    Request,
    encode_frame,
    parse_message,
    request_text,
)

__all__ = [
    "ExporterClient",
    "ExporterListener",
    "ExporterProtocolError",
    "PendingReply",
]

log = logging.getLogger("HardwareRepository.exporter")

_TICK = 0.1  # s: how often the I/O thread looks at abandoned requests
_RECV_BYTES = 65536


class ExporterProtocolError(CommunicationError):
    """The server sent something the protocol does not allow."""


class ExporterListener(Protocol):
    """What a client tells its listeners; both run in the client's I/O thread.

    They must return quickly and never raise (an exception is logged).
    """

    def on_events(self, events: Sequence[EventMessage]) -> None:
        """Take the events decoded from one read, in the server's order."""

    def on_connection(self, connected: bool) -> None:
        """Take a connection change (``True`` once connected, ``False`` when lost)."""


class PendingReply:
    """One request waiting for its reply.

    Attributes:
        description: ``"EXEC getState on host:port"``, for messages.
        result: set by the I/O thread with the parsed reply text (``None`` for
            ``NULL``), or an exception.
    """

    __slots__ = ("abandoned_at", "description", "frame", "result")

    def __init__(self, description: str, frame: bytes) -> None:
        self.description = description
        self.frame = frame
        self.result: AsyncResult[str | None] = AsyncResult(description)
        #: monotonic time the caller gave up waiting; guarded by the GIL
        #: (written once by the caller, read by the I/O thread)
        self.abandoned_at: float | None = None

    def wait(self, timeout: float | None) -> str | None:
        """Return the reply text; wait cooperatively in a greenlet.

        Raises:
            Timeout: no reply within ``timeout`` seconds (the request is then
                abandoned: its late reply will be dropped).
            CommandFailedError: the server answered ``ERR:``.
            NotConnectedError: the connection was lost before the reply.
            ExporterProtocolError: the reply was malformed or oversized.
        """
        try:
            return self.result.get(timeout)
        except Timeout:
            self.abandoned_at = monotonic()
            if timeout is None:
                raise  # an outer timeout of the caller's: its message stands
            raise Timeout(f"{self.description}: no reply within {timeout} s") from None
        except BaseException:
            if not self.result.ready():
                self.abandoned_at = monotonic()  # the waiting greenlet was killed
            raise


class ExporterClient:
    """The connection to one Exporter server; safe to use from any thread.

    Start it with :meth:`start` (non-blocking: the I/O thread connects in the
    background) and end it with :meth:`close`.

    Args:
        host: the server's host name or address.
        port: the server's TCP port.
        connect_timeout: seconds one connection attempt may take.
        reconnect_delay: seconds between two connection attempts.
        late_reply_grace: seconds a timed-out request keeps its place before
            the client reconnects to resynchronise.
        max_frame: the largest frame accepted, in bytes.
    """

    def __init__(
        self,
        host: str,
        port: int,
        *,
        connect_timeout: float = 1.0,
        reconnect_delay: float = 0.5,
        late_reply_grace: float = 2.0,
        max_frame: int = MAX_FRAME_BYTES,
    ) -> None:
        self.host = host
        self.port = int(port)
        self.connect_timeout = connect_timeout
        self.reconnect_delay = reconnect_delay
        self.late_reply_grace = late_reply_grace
        self.max_frame = max_frame
        self._lock = allocate_lock()
        # guarded by _lock: the state the callers and the I/O thread share
        self._connected = False
        self._closed = False
        self._started = False
        self._submitted: deque[PendingReply | bytes] = deque()
        self._listeners: list[ExporterListener] = []
        # the I/O thread's own state
        self._waiting: deque[PendingReply] = deque()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._thread_done = allocate_lock()
        self._generation = 0  # connections made so far
        #: set while connected; any thread or greenlet may wait on it
        self.connected_event = Event()

    @property
    def address(self) -> str:
        """``host:port``, as messages name the server."""
        return f"{self.host}:{self.port}"

    def __repr__(self) -> str:
        """Describe the object for logs."""
        state = "connected" if self._connected else "not connected"
        return f"<ExporterClient {self.address} {state}>"

    # -- life cycle -------------------------------------------------------
    def start(self) -> None:
        """Start the I/O thread (once); it connects in the background."""
        with self._lock:
            if self._started or self._closed:
                return
            self._started = True
        self._thread_done.acquire()
        start_new_thread(self._run, ())

    def close(self, timeout: float = 5.0) -> None:
        """Close the connection and end the I/O thread; idempotent.

        Requests still waiting fail with
        :class:`~HardwareRepository.errors.NotConnectedError`. Blocks the
        calling thread natively for at most ``timeout`` seconds while the I/O
        thread ends (it never waits long: it wakes up at once).
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            started = self._started
        self._wake()
        if started and self._thread_done.acquire(True, timeout):
            self._thread_done.release()
        self._wake_r.close()
        self._wake_w.close()

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    def is_connected(self) -> bool:
        """Return whether the TCP connection is up."""
        return self._connected and not self._closed

    @property
    def generation(self) -> int:
        """How many times the client has connected (1 after the first)."""
        return self._generation

    def add_listener(self, listener: ExporterListener) -> None:
        """Receive events and connection changes (in the I/O thread).

        The listener first receives the current connection state.
        """
        with self._lock:
            self._listeners.append(listener)
            connected = self._connected
        _call_logged(listener.on_connection, connected)

    def remove_listener(self, listener: ExporterListener) -> None:
        """Stop sending to ``listener`` (a no-op if it was not listening)."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    # -- requests -------------------------------------------------------------
    def submit(
        self, verb: Request, name: str = "", params: Iterable[Any] = ()
    ) -> PendingReply:
        """Send one request; return the reply to wait for. Never blocks.

        Raises:
            NotConnectedError: the client is closed or not connected now (the
                request is not queued for later).
            ValueError: a name or value the protocol cannot carry.
        """
        text = request_text(verb, name, params)
        target = f"{verb.value} {name}".rstrip()
        pending = PendingReply(f"{target} on {self.address}", encode_frame(text))
        with self._lock:
            if self._closed:
                raise NotConnectedError(f"{pending.description}: client closed")
            if not self._connected:
                raise NotConnectedError(
                    f"{pending.description}: not connected to the Exporter server"
                )
            self._submitted.append(pending)
        self._wake()
        return pending

    def send_no_reply(
        self, verb: Request, name: str, params: Iterable[Any] = ()
    ) -> None:
        """Send a request whose reply nobody waits for (it is matched and dropped).

        Raises:
            NotConnectedError: the client is closed or not connected now.
        """
        pending = self.submit(verb, name, params)
        pending.abandoned_at = monotonic()

    def call(
        self,
        verb: Request,
        name: str = "",
        params: Iterable[Any] = (),
        timeout: float | None = 3.0,
    ) -> str | None:
        """Send one request and return its reply text (``None`` for ``NULL``).

        Waits cooperatively in a greenlet and natively in a plain thread. While
        the client is (re)connecting, waits for the connection first, at most
        ``connect_timeout + reconnect_delay`` seconds (and within ``timeout``).

        Raises:
            Timeout, CommandFailedError, NotConnectedError,
            ExporterProtocolError: see :meth:`PendingReply.wait`.
        """
        if not self._connected and not self._closed and self._started:
            grace = self.connect_timeout + self.reconnect_delay
            self.connected_event.wait(grace if timeout is None else min(grace, timeout))
        return self.submit(verb, name, params).wait(timeout)

    # -- the I/O thread ---------------------------------------------------------
    def _wake(self) -> None:
        try:
            self._wake_w.send(b"x")
        except (BlockingIOError, OSError):
            pass  # already awake (buffer full) or closed

    def _run(self) -> None:
        try:
            while not self._closed:
                sock = self._connect()
                if sock is None:
                    self._pause(self.reconnect_delay)
                    continue
                reason = "client closed"
                try:
                    self._serve(sock)
                except (OSError, _ConnectionLostError) as exc:
                    if not self._closed:
                        log.warning("Exporter server %s: %s", self.address, exc)
                    reason = str(exc)
                finally:
                    sock.close()
                self._lose(reason)
                if not self._closed:
                    self._pause(self.reconnect_delay)
        except Exception:
            log.exception("Exporter client %s: I/O thread failed", self.address)
            self._lose("I/O thread failed")
        finally:
            self._thread_done.release()

    def _pause(self, seconds: float) -> None:
        try:
            select.select([self._wake_r], [], [], seconds)
            self._drain_wake()
        except (OSError, ValueError):
            pass  # closed meanwhile

    def _drain_wake(self) -> None:
        try:
            while self._wake_r.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def _connect(self) -> socket.socket | None:
        try:
            sock = socket.create_connection(
                (self.host, self.port), timeout=self.connect_timeout
            )
        except OSError as exc:
            log.debug("Exporter server %s: cannot connect: %s", self.address, exc)
            return None
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with self._lock:
            if self._closed:
                sock.close()
                return None
            self._connected = True
            self._generation += 1
            listeners = list(self._listeners)
        self.connected_event.send()
        log.info("Exporter server %s: connected", self.address)
        for listener in listeners:
            _call_logged(listener.on_connection, True)
        return sock

    def _lose(self, reason: str) -> None:
        self.connected_event.clear()
        with self._lock:
            was_connected = self._connected
            self._connected = False
            submitted = list(self._submitted)
            self._submitted.clear()
            listeners = list(self._listeners)
        failed = [
            p for p in (*self._waiting, *submitted) if isinstance(p, PendingReply)
        ]
        self._waiting.clear()
        for pending in failed:
            pending.result.set_exception(
                NotConnectedError(f"{pending.description}: connection lost ({reason})")
            )
        if was_connected:
            for listener in listeners:
                _call_logged(listener.on_connection, False)

    def _serve(self, sock: socket.socket) -> None:
        decoder = FrameDecoder(self.max_frame)
        outbox = bytearray()
        while not self._closed:
            with self._lock:
                while self._submitted:
                    item = self._submitted.popleft()
                    if isinstance(item, PendingReply):
                        self._waiting.append(item)
                        outbox += item.frame
                    else:
                        outbox += item
            writers = [sock] if outbox else []
            readable, writable, _ = select.select(
                [sock, self._wake_r], writers, [], _TICK
            )
            if self._wake_r in readable:
                self._drain_wake()
            if writable and outbox:
                sent = sock.send(outbox)
                del outbox[:sent]
            if sock in readable:
                data = sock.recv(_RECV_BYTES)
                if not data:
                    raise _ConnectionLostError("the server closed the connection")
                self._received(decoder.feed(data))
            self._check_abandoned()

    def _check_abandoned(self) -> None:
        if not self._waiting:
            return
        head = self._waiting[0]
        if head.abandoned_at is None:
            return
        if monotonic() - head.abandoned_at > self.late_reply_grace:
            raise _ConnectionLostError(
                f"the reply to {head.description} never came; reconnecting to "
                "match replies with requests again"
            )

    def _received(self, items: list[str | FrameError]) -> None:
        events: list[EventMessage] = []
        for item in items:
            if isinstance(item, FrameError):
                self._bad_frame(item)
                continue
            try:
                message = parse_message(item)
            except FrameError as exc:
                self._bad_frame(exc)
                continue
            if isinstance(message, EventMessage):
                events.append(message)
            else:
                self._reply(message)
        if events:
            with self._lock:
                listeners = list(self._listeners)
            for listener in listeners:
                _call_logged(listener.on_events, events)

    def _bad_frame(self, error: FrameError) -> None:
        if error.answers_request and self._waiting:
            pending = self._waiting.popleft()
            if pending.abandoned_at is None:
                pending.result.set_exception(
                    ExporterProtocolError(f"{pending.description}: {error}")
                )
                return
        log.warning("Exporter server %s: %s", self.address, error)

    def _reply(self, message: ReplyMessage) -> None:
        if not self._waiting:
            log.warning(
                "Exporter server %s: reply %s:%s with no request waiting",
                self.address,
                message.kind.value,
                (message.text or "")[:80],
            )
            return
        pending = self._waiting.popleft()
        if pending.abandoned_at is not None:
            return  # a late reply: its caller has gone
        if message.kind is ReplyKind.ERR:
            pending.result.set_exception(
                CommandFailedError(f"{pending.description}: {message.text}")
            )
        else:
            pending.result.set(message.text)


class _ConnectionLostError(Exception):
    """The connection must be dropped (the message says why)."""


def _call_logged(func: Callable[..., Any], *args: Any) -> None:
    try:
        func(*args)
    except Exception:
        log.exception("Exporter listener %r failed", func)

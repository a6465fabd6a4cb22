"""A SIMULATED MD2/MD3 microdiffractometer speaking the Exporter protocol.

No real MD server can run here, so tests and the demo talk to this one: a
separate process with a real TCP socket, so the client is exercised for real.
Everything it serves is a simulation and says so (``NAME`` replies
``SIMULATED MD``).

What it simulates:

* motors (``Omega``, ``Kappa``, ``Phi``, ``AlignmentX/Y/Z``, ``CentringX/Y``)
  that move at their speed towards a target: properties ``<Motor>Position``
  (writing it starts a move) and ``<Motor>State`` (``Ready``, ``Moving``,
  ``LowLim``, ``HighLim``), plus ``MotorStates`` (an array of
  ``Name=State``) and ``MotorPositions``;
* the application: ``State`` and ``HardwareState`` (``Ready``, ``Running``,
  ``Moving``), ``CurrentPhase`` and the methods ``getState``, ``abort``,
  ``startSetPhase(phase)``, ``getMotorLimits(motor)``,
  ``getMotorDynamicLimits(motor)``, ``getMotorMaxSpeed(motor)``,
  ``startHomingMotor(motor)``;
* events pushed to every client on each change (positions at most every
  ``--tick`` seconds while moving).

Methods whose names start with ``sim`` exist only here, for tests and
benchmarks: ``simSleep(s)`` replies after ``s`` seconds, ``simNoReply`` never
replies (a hung request: nothing after it on that connection is answered),
``simRawReply(hex)`` writes those bytes instead of a reply,
``simChunkedReply(text, size, pause_ms)`` writes ``RET:text`` in pieces,
``simBatchReplies(n)`` holds the next ``n`` replies and writes them in one
send, ``simOversizedReply(n)`` replies ``n`` bytes, ``simRawEvent(hex)`` writes
bytes between frames, ``simExit`` ends the process without replying and
``simStartCounters(count, rate, seconds)`` pushes ``Counter0..`` events with
consecutive integers at ``rate`` per second each.

Run it with ``python -m HardwareRepository.demo.md_server --port 0``: it
prints ``MD-SERVER-READY <port>`` once listening, and exits on SIGTERM,
SIGINT, or when its parent process dies.
"""

from __future__ import annotations

import argparse
import math
import os
import selectors
import signal
import socket
import sys
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from ..Command.exporter.protocol import (
    FrameDecoder,
    FrameError,
    encode_frame,
    format_value,
    split_parameters,
)
from .processes import MD_READY_LINE, announce_ready

__all__ = ["MDServer", "MDSimulation", "main"]

_PHASES = ("Centring", "BeamLocation", "DataCollection", "Transfer")
_PHASE_SECONDS = 1.0


@dataclass
class _Motor:
    name: str
    position: float
    speed: float  # unit/s
    low: float
    high: float
    target: float | None = None
    state: str = "Ready"


@dataclass
class _Client:
    sock: socket.socket
    decoder: FrameDecoder = field(default_factory=FrameDecoder)
    outbox: bytearray = field(default_factory=bytearray)
    #: replies in request order: [due time, bytes or None (never)]; the head
    #: blocks the ones after it, as a real server answers one at a time
    replies: deque[list[Any]] = field(default_factory=deque)
    batch_left: int = 0
    batch: bytearray = field(default_factory=bytearray)


class _NoReply(Exception):  # noqa: N818 (a signal, not an error)
    """The request gets no reply at all."""


class _Deferred(Exception):  # noqa: N818
    """The reply is written later, or as raw bytes."""

    def __init__(self, data: bytes | None, delay: float = 0.0) -> None:
        self.data = data
        self.delay = delay


class MDSimulation:
    """The simulated diffractometer's state and request handling (one thread)."""

    def __init__(self, tick: float = 0.05) -> None:
        self.tick = tick
        self.motors = {
            m.name: m
            for m in (
                _Motor("Omega", 0.0, 60.0, -1e4, 1e4),
                _Motor("Kappa", 0.0, 20.0, -5.0, 240.0),
                _Motor("Phi", 0.0, 60.0, -1e4, 1e4),
                _Motor("AlignmentX", 0.0, 1.0, -2.0, 2.0),
                _Motor("AlignmentY", 0.0, 1.0, -2.0, 2.0),
                _Motor("AlignmentZ", 0.0, 1.0, -2.0, 2.0),
                _Motor("CentringX", 0.0, 1.0, -2.0, 2.0),
                _Motor("CentringY", 0.0, 1.0, -2.0, 2.0),
            )
        }
        self.phase = "Centring"
        self.phase_target: str | None = None
        self.phase_done_at = 0.0
        self.app_state = "Ready"
        self.properties: dict[str, Any] = {"FrontLightLevel": 1.0}
        self.counters: list[int] = []
        self.counter_rate = 0.0
        self.counter_start = 0.0
        self.counter_until = 0.0
        self.events: list[tuple[str, Any]] = []  # pending pushes
        self.last_motion = time.monotonic()

    # -- properties --------------------------------------------------------
    def read(self, name: str) -> Any:
        """Return the value of property ``name``."""
        if name.endswith("Position") and name[:-8] in self.motors:
            return round(self.motors[name[:-8]].position, 6)
        if name.endswith("State") and name[:-5] in self.motors:
            return self.motors[name[:-5]].state
        if name in ("State", "HardwareState"):
            return self.app_state
        if name == "CurrentPhase":
            return self.phase
        if name == "MotorStates":
            return [f"{m.name}={m.state}" for m in self.motors.values()]
        if name == "MotorPositions":
            return [f"{m.name}={m.position:.6f}" for m in self.motors.values()]
        if name.startswith("Counter") and name[7:].isdigit():
            index = int(name[7:])
            return self.counters[index] if index < len(self.counters) else 0
        if name in self.properties:
            return self.properties[name]
        raise KeyError(f"unknown property {name}")

    def write(self, name: str, text: str) -> None:
        """Write property ``name`` (a motor position starts a move)."""
        if name.endswith("Position") and name[:-8] in self.motors:
            self.start_move(self.motors[name[:-8]], float(text))
            return
        if name in self.properties:
            self.properties[name] = type(self.properties[name])(text)
            self.push(name)
            return
        raise KeyError(f"property {name} is read-only or unknown")

    def push(self, name: str) -> None:
        """Queue an event with the current value of ``name``."""
        self.events.append((name, self.read(name)))

    # -- motion ------------------------------------------------------------
    def start_move(self, motor: _Motor, target: float) -> None:
        """Start moving ``motor`` towards ``target`` (clipped at its limits)."""
        if self.app_state == "Running":
            raise RuntimeError(f"cannot move {motor.name}: a phase change is running")
        motor.target = target
        self._set_motor_state(motor, "Moving")
        self._update_app_state()

    def _set_motor_state(self, motor: _Motor, state: str) -> None:
        if motor.state != state:
            motor.state = state
            self.push(f"{motor.name}State")
            self.push("MotorStates")

    def _update_app_state(self) -> None:
        if self.phase_target is not None:
            state = "Running"
        elif any(m.target is not None for m in self.motors.values()):
            state = "Moving"
        else:
            state = "Ready"
        if state != self.app_state:
            self.app_state = state
            self.push("State")

    def abort(self) -> None:
        """Stop every motor where it is and cancel a phase change."""
        for motor in self.motors.values():
            if motor.target is not None:
                motor.target = None
                self._set_motor_state(motor, "Ready")
                self.push(f"{motor.name}Position")
        self.phase_target = None
        self._update_app_state()

    def step(self, now: float) -> None:
        """Advance the simulation to ``now`` (monotonic seconds)."""
        dt = now - self.last_motion
        if dt >= self.tick:
            self.last_motion = now
            for motor in self.motors.values():
                if motor.target is None:
                    continue
                goal = min(max(motor.target, motor.low), motor.high)
                delta = goal - motor.position
                stride = motor.speed * dt
                if abs(delta) <= stride:
                    end = "Ready"
                    if motor.target > motor.high:
                        end = "HighLim"
                    elif motor.target < motor.low:
                        end = "LowLim"
                    motor.position = goal
                    motor.target = None
                    self.push(f"{motor.name}Position")
                    self._set_motor_state(motor, end)
                else:
                    motor.position += math.copysign(stride, delta)
                    self.push(f"{motor.name}Position")
            if self.phase_target is not None and now >= self.phase_done_at:
                self.phase = self.phase_target
                self.phase_target = None
                self.push("CurrentPhase")
            self._update_app_state()
        self._step_counters(now)

    def _step_counters(self, now: float) -> None:
        if not self.counters:
            return
        until = min(now, self.counter_until)
        due = int((until - self.counter_start) * self.counter_rate)
        while self.counters[0] < due:
            for index in range(len(self.counters)):
                self.counters[index] += 1
                self.events.append((f"Counter{index}", self.counters[index]))
        if now >= self.counter_until:
            self.counters = []

    # -- methods -----------------------------------------------------------
    def execute(self, method: str, params: list[str]) -> Any:
        """Run ``method`` and return its reply value (``None`` for ``NULL``)."""
        if method == "getState":
            return self.app_state
        if method == "abort":
            self.abort()
            return None
        if method == "startSetPhase":
            (phase,) = params
            if phase not in _PHASES:
                raise ValueError(f"unknown phase {phase!r} (known: {_PHASES})")
            if self.app_state != "Ready":
                raise RuntimeError(f"cannot change phase while {self.app_state}")
            self.phase_target = phase
            self.phase_done_at = time.monotonic() + _PHASE_SECONDS
            self._update_app_state()
            return None
        if method in ("getMotorLimits", "getMotorDynamicLimits"):
            motor = self._motor(params)
            return [motor.low, motor.high]
        if method == "getMotorMaxSpeed":
            return self._motor(params).speed
        if method == "startHomingMotor":
            self.start_move(self._motor(params), 0.0)
            return None
        return self._simulation_method(method, params)

    def _motor(self, params: list[str]) -> _Motor:
        if len(params) != 1 or params[0] not in self.motors:
            raise ValueError(f"unknown motor {params!r} (known: {list(self.motors)})")
        return self.motors[params[0]]

    def _simulation_method(self, method: str, params: list[str]) -> Any:
        if method == "simSleep":
            raise _Deferred(_reply_frame(None), float(params[0]))
        if method == "simNoReply":
            raise _NoReply
        if method == "simRawReply":
            raise _Deferred(bytes.fromhex(params[0]))
        if method == "simOversizedReply":
            raise _Deferred(encode_frame("RET:" + "x" * int(params[0])))
        if method == "simExit":
            os._exit(3)
        if method == "simStartCounters":
            count, rate, seconds = int(params[0]), float(params[1]), float(params[2])
            now = time.monotonic()
            self.counters = [0] * count
            self.counter_rate = rate
            self.counter_start = now
            self.counter_until = now + seconds
            return None
        raise LookupError(f"unknown method {method}")


def _reply_frame(value: Any) -> bytes:
    if value is None:
        return encode_frame("NULL")
    return encode_frame("RET:" + format_value(value))


class MDServer:
    """The socket side: accept clients, answer requests, push events."""

    def __init__(self, host: str, port: int, tick: float) -> None:
        self.sim = MDSimulation(tick)
        self.selector = selectors.DefaultSelector()
        self.listener = socket.create_server((host, port))
        self.listener.setblocking(False)
        self.selector.register(self.listener, selectors.EVENT_READ, None)
        self.clients: dict[socket.socket, _Client] = {}
        self.running = True
        self._parent = os.getppid()
        self._next_parent_check = 0.0

    @property
    def port(self) -> int:
        """The TCP port listened on."""
        return int(self.listener.getsockname()[1])

    def serve(self) -> None:
        """Run until :attr:`running` turns false."""
        while self.running:
            timeout = 0.001 if self.sim.counters else self.sim.tick / 2
            for key, mask in self.selector.select(timeout):
                if key.data is None:
                    self._accept()
                    continue
                client: _Client = key.data
                if mask & selectors.EVENT_READ:
                    self._read(client)
                if mask & selectors.EVENT_WRITE and client.sock in self.clients:
                    self._flush(client)
            now = time.monotonic()
            if now >= self._next_parent_check:
                self._next_parent_check = now + 0.5
                if os.getppid() != self._parent:
                    self.running = False  # the parent died: stop with it
            self.sim.step(now)
            self._send_events()
            self._release_replies()
        for sock in list(self.clients):
            sock.close()
        self.listener.close()

    def _accept(self) -> None:
        try:
            sock, _ = self.listener.accept()
        except OSError:
            return
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = _Client(sock)
        self.clients[sock] = client
        self.selector.register(sock, selectors.EVENT_READ, client)

    def _drop(self, client: _Client) -> None:
        if self.clients.pop(client.sock, None) is not None:
            self.selector.unregister(client.sock)
            client.sock.close()

    def _read(self, client: _Client) -> None:
        try:
            data = client.sock.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._drop(client)
            return
        for frame in client.decoder.feed(data):
            if isinstance(frame, FrameError):
                self._queue_reply(client, encode_frame(f"ERR:{frame}"))
                continue
            self._request(client, frame)

    def _request(self, client: _Client, text: str) -> None:
        verb, _, rest = text.partition(" ")
        try:
            if verb == "READ":
                reply = _reply_frame(self.sim.read(rest))
            elif verb == "WRTE":
                name, _, value = rest.partition(" ")
                self.sim.write(name, value)
                reply = _reply_frame(None)
            elif verb in ("EXEC", "ASNC"):
                method, _, params = rest.partition(" ")
                if method == "simBatchReplies":
                    client.batch_left = int(split_parameters(params)[0])
                    self._queue_reply(client, _reply_frame(None), bypass_batch=True)
                    return
                if method == "simChunkedReply":
                    self._chunked(client, split_parameters(params))
                    return
                reply = _reply_frame(self.sim.execute(method, split_parameters(params)))
            elif verb == "NAME":
                reply = _reply_frame("SIMULATED MD")
            elif verb == "LIST":
                reply = _reply_frame("getState\tabort\tstartSetPhase")
            elif verb == "PLST":
                reply = _reply_frame("State\tCurrentPhase\tMotorStates")
            else:
                raise ValueError(f"unknown request {verb!r}")
        except _NoReply:
            self._queue_reply(client, None)
            return
        except _Deferred as deferred:
            self._queue_reply(client, deferred.data, delay=deferred.delay)
            return
        except Exception as exc:
            reply = encode_frame(f"ERR:{exc}")
        self._queue_reply(client, reply)
        self._send_events()

    def _chunked(self, client: _Client, params: list[str]) -> None:
        frame = _reply_frame(params[0])
        size, pause = int(params[1]), float(params[2]) / 1000.0
        due = time.monotonic()
        for start in range(0, len(frame), size):
            client.replies.append([due, frame[start : start + size]])
            due += pause
        self._release_replies()

    def _queue_reply(
        self,
        client: _Client,
        data: bytes | None,
        *,
        delay: float = 0.0,
        bypass_batch: bool = False,
    ) -> None:
        if data is not None and client.batch_left and not bypass_batch:
            client.batch += data
            client.batch_left -= 1
            if client.batch_left:
                return
            data, client.batch = bytes(client.batch), bytearray()
        client.replies.append([time.monotonic() + delay, data])
        self._release_replies()

    def _release_replies(self) -> None:
        now = time.monotonic()
        for client in list(self.clients.values()):
            while client.replies and client.replies[0][1] is not None:
                due, data = client.replies[0]
                if due > now:
                    break
                client.replies.popleft()
                self._write(client, data)

    def _send_events(self) -> None:
        if not self.sim.events:
            return
        stamp = int(time.time() * 1000)
        data = b"".join(
            encode_frame(f"EVT:{name}\t{format_value(value)}\t{stamp}")
            for name, value in self.sim.events
        )
        self.sim.events.clear()
        for client in list(self.clients.values()):
            self._write(client, data)

    def _write(self, client: _Client, data: bytes) -> None:
        if client.sock not in self.clients:
            return
        client.outbox += data
        self._flush(client)

    def _flush(self, client: _Client) -> None:
        try:
            sent = client.sock.send(client.outbox)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._drop(client)
            return
        del client.outbox[:sent]
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if client.outbox else 0)
        self.selector.modify(client.sock, events, client)


def main(argv: list[str] | None = None) -> int:
    """Run the SIMULATED MD server until SIGTERM, SIGINT, or its parent's death."""
    parser = argparse.ArgumentParser(description="SIMULATED MD Exporter server")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tick", type=float, default=0.05, help="motion step, s")
    args = parser.parse_args(argv)
    server = MDServer(args.host, args.port, args.tick)

    def stop(*_: object) -> None:
        server.running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    announce_ready(MD_READY_LINE, server.port)
    server.serve()
    return 0


if __name__ == "__main__":
    sys.exit(main())

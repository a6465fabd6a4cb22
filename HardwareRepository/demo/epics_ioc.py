"""An EPICS IOC written with caproto: a real Channel Access server.

Served PVs (all under ``--prefix``, default ``HWR:``):

* ``m1.VAL`` / ``.RBV`` / ``.DMOV`` / ``.MOVN`` / ``.STOP`` / ``.VELO`` /
  ``.HLM`` / ``.LLM`` / ``.EGU`` / ``.DESC``: the fields of a motor record, with
  the record's behaviour: a put to ``.VAL`` starts a move at ``.VELO``
  units per second (clipped at the limits), ``.RBV`` follows it, ``.DMOV`` is 0
  while moving, a put to ``.STOP`` stops it where it is, and a put with
  completion callback to ``.VAL`` (``caput(..., wait=True)``) completes when
  the move has ended;
* ``wave``: a waveform of 16 doubles; ``message``: a string;
* ``counter0`` ... ``counterN-1`` (``--counters N``): integers counting
  ``--counter-rate`` ticks per second each (benchmarks; a late tick skips
  counts).

It is a simulated motor on a real server: the Channel Access traffic is real.
Run it with ``python -m HardwareRepository.demo.epics_ioc``; set
``EPICS_CA_SERVER_PORT`` and ``EPICS_CAS_INTF_ADDR_LIST`` (see
:class:`HardwareRepository.demo.processes.EpicsIocProcess`). It prints
``EPICS-IOC-READY <port>`` once serving and exits on SIGTERM or when its
parent process dies.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import time
from typing import Any

from caproto import ChannelData, ChannelInteger, ChannelType
from caproto.server import PVGroup, pvproperty

from .processes import IOC_READY_LINE, announce_ready

__all__ = ["MotorIOC", "main"]

_MOTION_STEP = 0.05  # s


class MotorIOC(PVGroup):
    """A motor record's fields, a waveform and a string; the motor's motion."""

    val = pvproperty(value=0.0, name="m1.VAL", precision=4)
    rbv = pvproperty(value=0.0, name="m1.RBV", read_only=True, precision=4)
    dmov = pvproperty(value=1, name="m1.DMOV", read_only=True)
    movn = pvproperty(value=0, name="m1.MOVN", read_only=True)
    stop = pvproperty(value=0, name="m1.STOP")
    velo = pvproperty(value=2.0, name="m1.VELO")
    hlm = pvproperty(value=10.0, name="m1.HLM")
    llm = pvproperty(value=-10.0, name="m1.LLM")
    egu = pvproperty(value="mm", name="m1.EGU", dtype=ChannelType.STRING)
    desc = pvproperty(value="caproto motor", name="m1.DESC", dtype=ChannelType.STRING)
    wave = pvproperty(value=[0.0] * 16, name="wave")
    message = pvproperty(
        value="hello from caproto", name="message", dtype=ChannelType.STRING
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.target: float | None = None
        self.mover: asyncio.Task[None] | None = None
        self.moved: asyncio.Event | None = None

    @val.putter  # type: ignore[no-redef]
    async def val(self, instance: Any, value: float) -> float:
        """Start a move; complete the put when it has ended (put-callback)."""
        low, high = self.llm.value, self.hlm.value
        target = min(max(float(value), low), high) if high > low else float(value)
        self.target = target
        if self.moved is None or self.moved.is_set():
            self.moved = asyncio.Event()
        moved = self.moved
        await self.dmov.write(0)
        await self.movn.write(1)
        if self.mover is None or self.mover.done():
            self.mover = asyncio.get_running_loop().create_task(self._move())
        await moved.wait()
        return target

    @stop.putter  # type: ignore[no-redef]
    async def stop(self, instance: Any, value: int) -> int:
        """Stop the motor where it is."""
        if value:
            self.target = None
        return 0

    async def _move(self) -> None:
        loop = asyncio.get_running_loop()
        last = loop.time()
        while self.target is not None:
            await asyncio.sleep(_MOTION_STEP)
            now = loop.time()
            stride = self.velo.value * (now - last)
            last = now
            target = self.target
            if target is None:
                break
            position = self.rbv.value
            delta = target - position
            if abs(delta) <= stride:
                await self.rbv.write(target)
                break
            await self.rbv.write(position + (stride if delta > 0 else -stride))
        self.target = None
        await self.movn.write(0)
        await self.dmov.write(1)
        if self.moved is not None:
            self.moved.set()


async def _count(channels: list[ChannelData], rate: float) -> None:
    # One write of the latest count per PV and tick; a tick that comes late
    # skips counts rather than queueing writes the server cannot send.
    loop = asyncio.get_running_loop()
    start = loop.time()
    done = 0
    while True:
        due = int((loop.time() - start) * rate)
        if due > done:
            done = due
            for channel in channels:
                await channel.write(done, timestamp=time.time())
        await asyncio.sleep(max(0.0, start + (done + 1) / rate - loop.time()))


async def _watch_parent(parent: int, stopping: asyncio.Event) -> None:
    while os.getppid() == parent:
        await asyncio.sleep(0.5)
    stopping.set()


def main(argv: list[str] | None = None) -> int:
    """Serve the IOC until SIGTERM or until the parent process dies."""
    parser = argparse.ArgumentParser(description="caproto EPICS IOC")
    parser.add_argument("--prefix", default="HWR:")
    parser.add_argument("--counters", type=int, default=0)
    parser.add_argument("--counter-rate", type=float, default=0.0)
    args = parser.parse_args(argv)
    from caproto.asyncio.server import Context

    group = MotorIOC(prefix=args.prefix)
    pvdb = dict(group.pvdb)
    counters: list[ChannelData] = []
    for index in range(args.counters):
        channel = ChannelInteger(value=0)
        pvdb[f"{args.prefix}counter{index}"] = channel
        counters.append(channel)
    interfaces = os.environ.get("EPICS_CAS_INTF_ADDR_LIST", "127.0.0.1").split()
    # Beacons go to EPICS_CAS_BEACON_PORT; a socket bound there takes them (and
    # never reads them), so the server does not log each refused send.
    beacon_sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    beacon_sink.bind((interfaces[0], int(os.environ.get("EPICS_CAS_BEACON_PORT", "0"))))
    port = os.environ.get("EPICS_CA_SERVER_PORT", "5064")
    parent = os.getppid()

    async def serve() -> None:
        context = Context(pvdb, interfaces)
        loop = asyncio.get_running_loop()
        stopping = asyncio.Event()
        loop.add_signal_handler(signal.SIGTERM, stopping.set)
        loop.add_signal_handler(signal.SIGINT, stopping.set)
        tasks = [
            loop.create_task(context.run(log_pv_names=False)),
            loop.create_task(_watch_parent(parent, stopping)),
        ]
        await asyncio.sleep(0.2)  # let the server bind its sockets
        if counters and args.counter_rate > 0:
            tasks.append(loop.create_task(_count(counters, args.counter_rate)))
        announce_ready(IOC_READY_LINE, port)
        await stopping.wait()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    try:
        asyncio.run(serve())
    finally:
        beacon_sink.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

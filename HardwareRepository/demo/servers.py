"""Start the demo beamline's Tango device servers in a child process.

The demo configuration (``configuration/demo/``) names the devices as
``tango://127.0.0.1:18777/demo/...#dbase=no``: the servers run without a Tango
database on that fixed port, so the XML files stay plain, static files.
"""

from __future__ import annotations

import pathlib
import shutil
import socket

from .launcher import ServedDevice, TangoServerProcess
from .processes import EpicsIocProcess, MDServerProcess

__all__ = [
    "DEMO_CONFIGURATION",
    "DEMO_EPICS_PREFIX",
    "DEMO_HOST",
    "DEMO_IOC_PORT",
    "DEMO_MD_PORT",
    "DEMO_PORT",
    "DemoSimulators",
    "copy_demo_configuration",
    "demo_devices",
    "start_demo_servers",
    "start_demo_simulators",
]

DEMO_HOST = "127.0.0.1"
DEMO_PORT = 18777
#: the SIMULATED MD diffractometer (Exporter protocol)
DEMO_MD_PORT = 18778
#: the caproto EPICS IOC (UDP search and TCP)
DEMO_IOC_PORT = 18779
DEMO_EPICS_PREFIX = "HWRDEMO:"

_DEVICES = "HardwareRepository.demo.devices"

#: ``configuration/demo`` of the source tree (present in an editable install)
DEMO_CONFIGURATION = (
    pathlib.Path(__file__).resolve().parents[2] / "configuration" / "demo"
)


def copy_demo_configuration(
    target: pathlib.Path,
    port: int,
    ports: dict[str, int] | None = None,
    *,
    md_port: int | None = None,
    ioc_port: int | None = None,
    epics_prefix: str | None = None,
) -> pathlib.Path:
    """Copy the demo configuration to ``target`` with its devices on ``port``.

    Lets a second demo (or a test) run its servers on another port.

    :param ports: per-file ports (``{"safety-shutter.xml": 1234}``) overriding
        ``port``.
    :param md_port: the SIMULATED MD server's port instead of ``DEMO_MD_PORT``.
    :param ioc_port: the EPICS IOC's port instead of ``DEMO_IOC_PORT``.
    :param epics_prefix: the IOC's PV prefix instead of ``DEMO_EPICS_PREFIX``.
    """
    shutil.copytree(DEMO_CONFIGURATION, target)
    for path in target.glob("*.xml"):
        chosen = (ports or {}).get(path.name, port)
        text = path.read_text().replace(f":{DEMO_PORT}/", f":{chosen}/")
        if md_port is not None:
            text = text.replace(
                f"{DEMO_HOST}:{DEMO_MD_PORT}<", f"{DEMO_HOST}:{md_port}<"
            )
        if ioc_port is not None:
            text = text.replace(
                f"{DEMO_HOST}:{DEMO_IOC_PORT}<", f"{DEMO_HOST}:{ioc_port}<"
            )
        if epics_prefix is not None:
            text = text.replace(f">{DEMO_EPICS_PREFIX}", f">{epics_prefix}")
        path.write_text(text)
    return target


def demo_devices() -> list[ServedDevice]:
    """Return the devices of the demo beamline with their properties."""
    motor = f"{_DEVICES}:DemoMotor"
    return [
        ServedDevice(
            "demo/motor/omega",
            motor,
            {
                "InitialVelocity": 30.0,
                "InitialLowLimit": -360.0,
                "InitialHighLimit": 360.0,
                "Unit": "deg",
            },
        ),
        ServedDevice(
            "demo/motor/phi",
            motor,
            {
                "InitialVelocity": 20.0,
                "InitialLowLimit": -180.0,
                "InitialHighLimit": 180.0,
                "Unit": "deg",
            },
        ),
        ServedDevice(
            "demo/motor/samplex",
            motor,
            {
                "InitialVelocity": 0.5,
                "InitialLowLimit": -2.0,
                "InitialHighLimit": 2.0,
                "Unit": "mm",
            },
        ),
        ServedDevice(
            "demo/motor/sampley",
            motor,
            {
                "InitialVelocity": 0.5,
                "InitialLowLimit": -2.0,
                "InitialHighLimit": 2.0,
                "Unit": "mm",
            },
        ),
        ServedDevice(
            "demo/motor/energy",
            motor,
            {
                "InitialPosition": 12.4,
                "InitialVelocity": 0.5,
                "InitialAcceleration": 1.0,
                "InitialLowLimit": 5.0,
                "InitialHighLimit": 20.0,
                "Unit": "keV",
            },
        ),
        ServedDevice("demo/shutter/safety", f"{_DEVICES}:DemoShutter"),
        ServedDevice(
            "demo/machine/info",
            f"{_DEVICES}:DemoMachineInfo",
            {"Lifetime": 120.0, "RefillBelow": 195.0, "RefillRate": 2.0},
        ),
    ]


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def start_demo_servers(
    port: int = DEMO_PORT, timeout: float = 60.0
) -> TangoServerProcess:
    """Start the demo device servers and return once they answer.

    Blocks the calling thread (natively) while the server starts; call it
    before the application's loop runs. Stop it with ``.stop()``.

    :raises RuntimeError: the port is already in use (another demo running?),
        or the server did not start (the message quotes its log).
    """
    if _port_in_use(DEMO_HOST, port):
        raise RuntimeError(
            f"port {port} on {DEMO_HOST} is already in use: is another "
            "`hwr demo` running? Stop it first."
        )
    server = TangoServerProcess(
        demo_devices(),
        host=DEMO_HOST,
        port=port,
        server_name="HwrDemo",
        start_timeout=timeout,
    )
    server.start()
    return server


class DemoSimulators:
    """The demo's SIMULATED MD server and its caproto EPICS IOC, both running.

    Attributes:
        md: the SIMULATED MD server process.
        ioc: the EPICS IOC process.
    """

    def __init__(self, md: MDServerProcess, ioc: EpicsIocProcess) -> None:
        self.md = md
        self.ioc = ioc

    def stop(self) -> None:
        """Stop both servers and delete their logs; idempotent."""
        self.md.close()
        self.ioc.close()


def start_demo_simulators(
    md_port: int = DEMO_MD_PORT, ioc_port: int = DEMO_IOC_PORT
) -> DemoSimulators:
    """Start the SIMULATED MD server and the EPICS IOC; return once they serve.

    Blocks the calling thread natively while they start. Stop them with
    ``.stop()``.

    :raises RuntimeError: a port is in use (another demo running?), or a
        server did not start (the message quotes its log).
    """
    for port in (md_port, ioc_port):
        if _port_in_use(DEMO_HOST, port):
            raise RuntimeError(
                f"port {port} on {DEMO_HOST} is already in use: is another "
                "`hwr demo` running? Stop it first."
            )
    md = MDServerProcess(host=DEMO_HOST, port=md_port)
    ioc = EpicsIocProcess(DEMO_EPICS_PREFIX, host=DEMO_HOST, port=ioc_port)
    md.start()
    try:
        ioc.start()
    except BaseException:
        md.close()
        raise
    return DemoSimulators(md, ioc)

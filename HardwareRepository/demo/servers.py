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

__all__ = [
    "DEMO_CONFIGURATION",
    "DEMO_HOST",
    "DEMO_PORT",
    "copy_demo_configuration",
    "demo_devices",
    "start_demo_servers",
]

DEMO_HOST = "127.0.0.1"
DEMO_PORT = 18777

_DEVICES = "HardwareRepository.demo.devices"

#: ``configuration/demo`` of the source tree (present in an editable install)
DEMO_CONFIGURATION = (
    pathlib.Path(__file__).resolve().parents[2] / "configuration" / "demo"
)


def copy_demo_configuration(
    target: pathlib.Path, port: int, ports: dict[str, int] | None = None
) -> pathlib.Path:
    """Copy the demo configuration to ``target`` with its devices on ``port``.

    Lets a second demo (or a test) run its servers on another port.

    :param ports: per-file ports (``{"safety-shutter.xml": 1234}``) overriding
        ``port``.
    """
    shutil.copytree(DEMO_CONFIGURATION, target)
    for path in target.glob("*.xml"):
        chosen = (ports or {}).get(path.name, port)
        text = path.read_text().replace(f":{DEMO_PORT}/", f":{chosen}/")
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

"""The Qt window of the package: live panels, controls, plot and status line.

Importing this package imports Qt (through qtpy); the core never imports it.
Entry point for applications::

    from HardwareRepository.gui import run_gui
    sys.exit(run_gui("configuration/demo"))

Or build the window yourself, in the GUI thread, after
``HardwareRepository.qtloop.install(app)`` and loading the objects::

    window = BeamlineWindow.from_repository(repository)
    window.show()
"""

from ._run import run_gui
from .panels import (
    GenericPanel,
    MachineInfoPanel,
    MotorPanel,
    ObjectPanel,
    ShutterPanel,
    panel_for,
)
from .plot import History, LivePlot
from .window import BeamlineWindow

__all__ = [
    "BeamlineWindow",
    "GenericPanel",
    "History",
    "LivePlot",
    "MachineInfoPanel",
    "MotorPanel",
    "ObjectPanel",
    "ShutterPanel",
    "panel_for",
    "run_gui",
]

"""Code written for the HardwareRepository package of 2012-2019.

It imports ``HardwareRepository.BaseHardwareObjects``,
``HardwareRepository.HardwareObjects.*`` (with ``abstract.*``), calls
camelCase names and the ``HardwareRepository.HardwareRepository()``
singleton, and defines ``connectNotify``.
"""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONFIGS = Path(__file__).resolve().parent / "configs"


def test_hardware_objects_package_path_is_the_same_modules(core):
    from HardwareRepository.HardwareObjects.abstract.AbstractMotor import (
        AbstractMotor,
    )
    from HardwareRepository.HardwareObjects.mockup.MotorMockup import MotorMockup

    old_path = importlib.import_module(
        "HardwareRepository.HardwareObjects.TangoShutter"
    )
    assert old_path is importlib.import_module("HardwareObjects.TangoShutter")
    library = importlib.import_module(
        "mxcubecore.HardwareObjects.abstract.AbstractMotor"
    )
    assert AbstractMotor is library.AbstractMotor
    assert issubclass(MotorMockup, AbstractMotor)
    with pytest.raises(ModuleNotFoundError, match=r"neither HardwareObjects\.Nope"):
        importlib.import_module("HardwareRepository.HardwareObjects.Nope")


def test_abstract_path_without_install_says_what_to_do():
    script = (
        "import HardwareRepository.HardwareObjects\n"
        "try:\n"
        "    import HardwareRepository.HardwareObjects.abstract.AbstractMotor\n"
        "except ModuleNotFoundError as exc:\n"
        "    print(exc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "call HardwareRepository.compat.mxcubecore.install() first" in proc.stdout


def test_old_script_runs_the_mockups(core, tmp_path):
    """A pre-2020 start-up script, word for word in the old names."""
    from HardwareRepository import HardwareRepository as HWR  # noqa: N814
    from HardwareRepository.BaseHardwareObjects import HardwareObject

    config = tmp_path / "mockup"
    shutil.copytree(CONFIGS / "mockup", config)
    HWR.addHardwareObjectsDirs([str(config)])
    HWR.setUserFileDirectory(str(tmp_path))
    HWR.setHardwareRepositoryServer(str(config))
    try:
        hwr = HWR.HardwareRepository()  # the old singleton call
        assert hwr is HWR.getHardwareRepository()
        phi = hwr.getHardwareObject("/phi")
        assert hwr.isDevice("/phi") is False
        assert hwr.hasHardwareObject("/phi")
        assert type(phi).__name__ == "MotorMockup"

        class Brick(HardwareObject):
            """A GUI brick of the time: connects, and is notified back."""

            def __init__(self):
                HardwareObject.__init__(self, "brick")
                self.positions = []

            def position_changed(self, value):
                self.positions.append(value)

        brick = Brick()
        brick.connect(phi, "valueChanged", brick.position_changed)
        phi.set_value(12, timeout=10)
        assert brick.positions[-1] == 12
        assert phi.isReady()
        assert phi.getProperty("actuator_name") == "phi"
        assert phi.getObjectByRole("nothing") is None
        assert hwr.getInfo("/phi")["class"] == "MotorMockup"
        assert HWR.beamline.diffractometer.phi is phi
        hwr.discardHardwareObject("/transmission")
        assert not hwr.hasHardwareObject("/transmission")
    finally:
        HWR.uninit_hardware_repository()


def test_xml_class_paths_of_the_old_package(core, hwr, tmp_path):
    """``class="HardwareRepository.HardwareObjects.<...>"`` as old files wrote it."""
    config = tmp_path / "old"
    config.mkdir()
    (config / "phi.xml").write_text(
        '<device class="HardwareRepository.HardwareObjects.mockup.MotorMockup">'
        "<default_value>5</default_value><velocity>5000</velocity>"
        "<default_limits>(0, 100)</default_limits></device>"
    )
    (config / "shutter.xml").write_text(
        '<device class="HardwareRepository.HardwareObjects.mockup.ShutterMockup">'
        "<default_value>CLOSED</default_value></device>"
    )
    repo = hwr.init_hardware_repository(str(config))
    phi = repo.getHardwareObject("/phi")
    from mxcubecore.HardwareObjects.mockup.MotorMockup import MotorMockup

    assert type(phi) is MotorMockup  # the same class, not a copy
    phi.set_value(50, timeout=10)
    assert phi.get_value() == 50
    shutter = repo.getHardwareObject("/shutter")
    shutter.open(timeout=10)
    assert shutter.is_open


def test_command_arguments_in_old_names(core):
    from HardwareRepository.CommandContainer import ARGUMENT_TYPE_LIST, CommandObject

    command = CommandObject("collect")
    command.addArgument("exposure", "float")
    command.addArgument("mode", "combo", combo_items={"fast": 1, "slow": 2})
    assert [a["name"] for a in command.getArguments()] == ["exposure", "mode"]
    assert command.getComboArgumentItems("mode") == {"fast": 1, "slow": 2}
    assert command.argument_type == ARGUMENT_TYPE_LIST
    importlib.import_module("mxcubecore.HardwareObjects.mockup.BeamlineActionsMockup")
    actions = importlib.import_module("mxcubecore.HardwareObjects.BeamlineActions")
    assert actions.ARGUMENT_TYPE_LIST is ARGUMENT_TYPE_LIST  # from our CommandContainer
    command.close()

"""mxcubecore's own hardware-object classes, unchanged, on this core.

The installed mxcubecore (``pip install --no-deps``) provides the Beamline
class, the abstract classes and the mockups; ``compat.mxcubecore.install()``
makes their core imports (``mxcubecore.BaseHardwareObjects``,
``.HardwareRepository``, ``.dispatcher``...) this package. They are loaded from
mxCuBE-format XML and a ``beamline_config.yml`` (``configs/mockup``) and
operated through ``HWR.beamline.<role>``.
"""

from __future__ import annotations

import gc
import shutil
import sys
from pathlib import Path

import gevent
import pytest

from HardwareRepository.BaseHardwareObjects import HardwareObject, HardwareObjectState

CONFIGS = Path(__file__).resolve().parent / "configs"


def load(tmp_path, name):
    """Load HWR.beamline from a copy of configs/<name>; return the module."""
    from mxcubecore import HardwareRepository as HWR  # noqa: N814 (mxCuBE's name)

    config = tmp_path / name
    shutil.copytree(CONFIGS / name, config)
    HWR.init_hardware_repository(str(config))
    return HWR


@pytest.fixture
def beamline(core, tmp_path):
    """HWR.beamline loaded from a copy of configs/mockup, unloaded after."""
    hwr = load(tmp_path, "mockup")
    yield hwr.beamline
    hwr.uninit_hardware_repository()


def catch(obj, *signals):
    """Record the given signals of ``obj`` as (signal, args) pairs."""
    seen = []
    for signal in signals:

        def receiver(*args, signal=signal):
            seen.append((signal, args))

        obj.connect(signal, receiver)
        obj._test_receivers = [*getattr(obj, "_test_receivers", []), receiver]
    return seen


def test_the_core_modules_are_this_package(core):
    import mxcubecore
    import mxcubecore.BaseHardwareObjects
    import mxcubecore.Command.Tango
    import mxcubecore.dispatcher
    import mxcubecore.HardwareRepository
    import mxcubecore.TaskUtils

    import HardwareRepository.BaseHardwareObjects
    import HardwareRepository.Command.Tango

    assert mxcubecore.BaseHardwareObjects is HardwareRepository.BaseHardwareObjects
    assert mxcubecore.Command.Tango is HardwareRepository.Command.Tango
    assert mxcubecore.dispatcher.__name__ == "HardwareRepository.dispatcher"
    assert mxcubecore.TaskUtils.__name__ == "HardwareRepository.TaskUtils"
    assert mxcubecore.__version__ == "2.149.0"
    from mxcubecore.HardwareObjects.abstract import AbstractMotor

    assert AbstractMotor.__file__.startswith(mxcubecore.__path__[0])
    with pytest.raises(ModuleNotFoundError, match=r"has no Command\.Spec"):
        import mxcubecore.Command.Spec


def test_every_role_loads_and_is_mxcubecore_class(beamline, core):
    from mxcubecore import HardwareRepository as HWR  # noqa: N814

    repo = HWR.get_hardware_repository()
    roles = {
        "energy": "EnergyMockup",
        "transmission": "TransmissionMockup",
        "safety_shutter": "ShutterMockup",
        "detector": "DetectorMockup",
        "beam": "BeamMockup",
    }
    for role, class_name in roles.items():
        obj = getattr(beamline, role)
        assert type(obj).__name__ == class_name
        assert type(obj).__module__.startswith("mxcubecore.HardwareObjects.mockup.")
        assert isinstance(obj, HardwareObject)
        assert obj.id == role
    diffractometer = beamline.diffractometer
    assert type(diffractometer.phi).__name__ == "MotorMockup"
    assert type(diffractometer.actuator).__name__ == "ActuatorMockup"
    assert type(diffractometer.beamstop).__name__ == "BeamstopMockup"
    assert beamline.get_by_id("diffractometer.phi") is diffractometer.phi
    assert beamline.detector.get_object_by_role("detector_distance") is (
        repo.get_hardware_object("/detector-distance")
    )
    assert beamline.flux is None  # mxcubecore's Beamline: a role not configured
    assert beamline.config.tunable_wavelength is True  # its pydantic HOConfig
    failed = [r for r in repo.summary() if r.status == "failed"]
    assert failed == []
    assert repo.missing_lookups() == {}


def test_machine_info_mockup(core, tmp_path):
    hwr = load(tmp_path, "machine")
    try:
        machine_info = hwr.beamline.machine_info
        assert type(machine_info).__name__ == "MachineInfoMockup"
        info = machine_info.get_value()
        assert info["current"] == 200
        assert info["message"] == "Beam Delivered"
        assert machine_info.get_current() == 200
        seen = catch(machine_info, "valueChanged")
        machine_info.update_value({"current": 150.0})
        assert seen[-1][1][0]["current"] == 150.0
    finally:
        hwr.uninit_hardware_repository()
        # MachineInfoMockup spawns a greenlet that updates it for ever and keeps
        # no handle to stop it (mxcubecore's class): find it and kill it.
        updaters = [
            g
            for g in gc.get_objects()
            if isinstance(g, gevent.Greenlet)
            and getattr(getattr(g, "_run", None), "__func__", None)
            is type(machine_info)._update_me
        ]
        assert len(updaters) == 1
        gevent.killall(updaters)


def test_motor_mockup_moves_with_signals(beamline):
    phi = beamline.diffractometer.phi
    seen = catch(phi, "valueChanged", "stateChanged", "specificStateChanged")
    assert phi.get_value() == 0
    assert phi.is_ready()
    phi.set_value(90, timeout=10)
    assert phi.get_value() == 90
    values = [args[0] for signal, args in seen if signal == "valueChanged"]
    assert values[-1] == 90
    assert len(values) >= 2  # intermediate positions, then the target
    states = [args[0] for signal, args in seen if signal == "stateChanged"]
    assert HardwareObjectState.BUSY in states
    assert states[-1] is HardwareObjectState.READY
    specific = [
        args[0].name for signal, args in seen if signal == "specificStateChanged"
    ]
    assert "MOVING" in specific
    phi.set_value(-360, timeout=10)
    assert phi.get_specific_state().name == "LOWLIMIT"
    with pytest.raises(ValueError):
        phi.set_value(1000, timeout=1)
    # through the detector's distance role too
    distance = beamline.detector.get_object_by_role("detector_distance")
    distance.set_value(500, timeout=10)
    assert distance.get_value() == 500


def test_actuator_energy_transmission(beamline):
    actuator = beamline.diffractometer.actuator
    seen = catch(actuator, "valueChanged")
    actuator.set_value(5.0, timeout=10)
    assert actuator.get_value() == 5.0
    assert ("valueChanged", (5.0,)) in seen
    energy = beamline.energy
    energy.set_value(8.0, timeout=10)
    assert energy.get_value() == 8.0
    assert energy.get_wavelength() == pytest.approx(12.398 / 8.0, rel=1e-3)
    assert energy.get_limits() == (4, 20)
    transmission = beamline.transmission
    transmission.set_value(50, timeout=10)
    assert transmission.get_value() == 50


def test_nstate_shutter_and_aperture(beamline):
    shutter = beamline.safety_shutter
    seen = catch(shutter, "valueChanged", "stateChanged")
    assert shutter.get_value().name == "CLOSED"
    assert not shutter.is_open
    shutter.open(timeout=10)
    assert shutter.is_open
    assert shutter.get_value() is shutter.VALUES.OPEN
    shutter.close(timeout=10)
    assert shutter.get_value() is shutter.VALUES.CLOSED
    values = [args[0].name for signal, args in seen if signal == "valueChanged"]
    assert values[-2:] == ["OPEN", "CLOSED"]
    aperture = beamline.beam.get_object_by_role("aperture")
    assert aperture.get_value() is aperture.VALUES.A10
    beam_seen = catch(beamline.beam, "beamInfoChanged", "valueChanged")
    size_before = beamline.beam.get_beam_size()
    aperture.set_value(aperture.VALUES.A50, timeout=10)
    assert aperture.get_value().name == "A50"
    # the beam followed its aperture (through the aperture's valueChanged)
    assert beamline.beam.get_beam_size() != size_before
    assert beam_seen


def test_detector_mockup(beamline):
    detector = beamline.detector
    assert detector.is_ready()
    assert detector.get_width() == 4150
    assert detector.get_pixel_size() == (0.075, 0.075)
    assert detector.distance is detector.get_object_by_role("detector_distance")


def test_force_emit_signals_reaches_every_role(beamline):
    phi = beamline.diffractometer.phi
    seen = catch(phi, "valueChanged")
    before = len(seen)
    beamline.force_emit_signals()
    assert len(seen) > before


def test_install_refuses_after_mxcubecore_own_core(tmp_path):
    import subprocess

    script = (
        "import sys\n"
        "sys.modules['mxcubecore.BaseHardwareObjects'] = type(sys)('fake own core')\n"
        "from HardwareRepository.compat import mxcubecore\n"
        "try:\n"
        "    mxcubecore.install()\n"
        "except RuntimeError as exc:\n"
        "    print('refused:', exc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "refused: mxcubecore's own core is already imported" in proc.stdout
    assert "mxcubecore.BaseHardwareObjects" in proc.stdout


def test_what_mxcubeqt_calls_at_start_up(core, hwr, tmp_path):
    """mxcubeqt's start-up sequence, in its order, through mxcubecore's names."""
    from mxcubecore import HardwareRepository as HWR  # noqa: N814 (mxCuBE's name)
    from mxcubecore.dispatcher import dispatcher

    config = tmp_path / "mockup"
    shutil.copytree(CONFIGS / "mockup", config)
    HWR.add_hardware_objects_dirs([str(config)])
    HWR.set_user_file_directory(str(tmp_path))
    HWR.init_hardware_repository(str(config))
    try:
        repo = HWR.get_hardware_repository()
        repo.connect()
        assert repo.server_address == [str(config)]
        repo.require(["/energy", "/safety-shutter"])
        discarded = []
        dispatcher.connect(discarded.append, "hardwareObjectDiscarded", repo)
        energy = repo.get_hardware_object("/energy")
        assert HWR.beamline.energy is energy
        assert repo.get_info("/energy")["class"] == "EnergyMockup"
        values = []
        energy.connect("valueChanged", values.append)
        HWR.beamline.force_emit_signals()
        assert values[-1] == 12.4
        repo.discard_hardware_object("/transmission")
        assert discarded == ["/transmission"]
    finally:
        HWR.get_hardware_repository().close()
        HWR.uninit_hardware_repository()


def test_beamstop_mockup(beamline):
    beamstop = beamline.diffractometer.beamstop
    assert beamstop.get_size() == 0.1
    assert beamstop.get_direction() == "vertical"
    seen = catch(beamstop, "beamstopDistanceChanged")
    beamstop.set_distance(55.0)
    beamstop.re_emit_values()
    assert seen == [("beamstopDistanceChanged", (55.0,))]


def test_procedure_mockup_a_yaml_configured_object(beamline):
    """A pure ConfiguredObject (mxcubecore's AbstractProcedure), from YAML."""
    from mxcubecore.BaseHardwareObjects import ConfiguredObject
    from mxcubecore.model.procedure_model import MockDataModel

    procedure = beamline.procedure
    assert type(procedure).__name__ == "ProcedureMockup"
    assert isinstance(procedure, ConfiguredObject)
    assert procedure.id == "procedure"
    assert procedure.state.name == "READY"
    task = procedure.start(MockDataModel(exposure_time=0.2))
    gevent.sleep(0)  # the task starts, then sleeps in its _execute
    assert procedure.state.name == "BUSY"
    procedure.wait()
    task.join(timeout=5)
    assert task.successful()
    assert procedure.state.name == "READY"

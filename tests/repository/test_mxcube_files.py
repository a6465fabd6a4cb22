"""mxCuBE-style beamline files load unchanged (``mxcube/``).

The ``tango`` and ``tine`` types are replaced, for these tests only, by a
recording provider: what is checked here is what the loader hands to a type
module (text, converted attributes, inherited device names, long-notation
arguments), not the control systems (tests/tango and tests/taco_tine do those).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

from HardwareRepository.BaseHardwareObjects import Device, Equipment, HardwareObject
from HardwareRepository.Command import register_type
from HardwareRepository.Command.Sim import SimChannel, SimCommand

MXCUBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "mxcube")


class RecordingProvider:
    """A type module that records what the container gives it."""

    def __init__(self, inherited: Any) -> None:
        self.INHERITED_PROPERTIES = inherited
        self.made: dict[tuple[str, str, str], tuple[str, dict[str, Any]]] = {}

    def make_command(
        self, name: str, text: str, attrs: dict[str, Any], owner: Any
    ) -> SimCommand:
        self.made[(owner.name(), "command", name)] = (text, dict(attrs))
        return SimCommand(name, text)

    def make_channel(
        self, name: str, text: str, attrs: dict[str, Any], owner: Any
    ) -> SimChannel:
        self.made[(owner.name(), "channel", name)] = (text, dict(attrs))
        return SimChannel(name, text, value=text)


@pytest.fixture
def providers() -> Iterator[dict[str, RecordingProvider]]:
    recorded = {
        "tango": RecordingProvider(("tangoname",)),
        "tine": RecordingProvider({"tinename": ("tinename", "tine_name")}),
    }
    for name, provider in recorded.items():
        register_type(name, provider, replace=True)
    yield recorded
    register_type("tango", "HardwareRepository.Command.Tango", replace=True)
    register_type("tine", "HardwareRepository.Command.Tine", replace=True)


def test_every_file_loads_without_a_problem(make_repo, providers):
    repo = make_repo(MXCUBE)
    rows = repo.load_all()
    names = (
        "/eh1/minidiff",
        "/eh1/phi",
        "/eh1/phiz",
        "/eh1/beam-info",
        "/eh1/camera",
        "/eh1/prosilica",
    )
    assert {r.name: (r.status, r.error) for r in rows} == dict.fromkeys(
        names, ("ok", "")
    )


def test_tags_without_class_get_mxcube_base_classes(make_repo, providers):
    repo = make_repo(MXCUBE)
    assert type(repo.get_hardware_object("/eh1/minidiff")) is Equipment
    assert type(repo.get_hardware_object("/eh1/phiz")) is Device
    assert type(repo.get_hardware_object("/eh1/beam-info")) is HardwareObject
    row = next(r for r in repo.summary() if r.name == "/eh1/phiz")
    assert row.class_name == "Device"


def test_properties_lists_nodes_and_entities(make_repo, providers):
    repo = make_repo(MXCUBE)
    diff = repo.get_hardware_object("/eh1/minidiff")
    assert diff.get_property("username") == "MiniDiff"
    assert diff.specversion == "lid231:eh1"  # a name with a colon stays a string
    assert diff.get_property("centringReferencePosition") == 0.0
    assert diff["zoom"].get_property("level") == [1, 2, 4]
    assert diff.unit == "\N{DEGREE SIGN}"
    assert diff.comment == "phi & kappa"
    phi = repo.get_hardware_object("/eh1/phi")
    assert phi.GUIstep == [90, 45]
    assert phi.motor_name == 7  # mxCuBE's int() rule, kept
    kappa = diff.get_object_by_role("kappa")
    assert type(kappa).__name__ == "Widget"
    assert kappa.name() == "kappa"
    assert kappa.motor_name == "Kappa"


def test_references_in_nodes_relative_forms_and_alias(make_repo, providers):
    repo = make_repo(MXCUBE)
    diff = repo.get_hardware_object("/eh1/minidiff")
    phi = repo.get_hardware_object("/eh1/phi")
    phiz = repo.get_hardware_object("/eh1/phiz")
    assert diff["motors"].get_object_by_role("phi") is phi
    assert diff.get_object_by_role("PHIZ") is phiz  # searched through the node
    assert diff["motors"]["device"] == [phi, phiz]  # repeated tag -> list
    # "../beam-info" from /eh1/minidiff is /eh1/beam-info (mxCuBE's rule)
    beam_info = diff.get_object_by_role("beam_info")
    assert beam_info is repo.get_hardware_object("/eh1/beam-info")
    assert beam_info["aperture_hwobj"] is phiz  # a reference without a role
    camera = diff.get_object_by_role("camera")
    assert camera is repo.get_hardware_object("/eh1/prosilica")
    assert repo.get_hardware_object("/eh1/camera") is camera


def test_tango_items_get_text_converted_attributes_and_inherited_device(
    make_repo, providers
):
    repo = make_repo(MXCUBE)
    diff = repo.get_hardware_object("/eh1/minidiff")
    made = providers["tango"].made
    assert made[("/eh1/minidiff", "channel", "CurrentPhase")] == (
        "CurrentPhase",
        {"polling": 1000, "tangoname": "id23/md/1"},
    )
    assert made[("/eh1/minidiff", "channel", "State")] == (
        "State",
        {"polling": "events", "tangoname": "id23/md/1"},
    )
    # an attribute on the element wins over the object's property
    assert made[("/eh1/minidiff", "channel", "HeadType")] == (
        "HeadType",
        {"tangoname": "id23/md/head", "timeout": 3000},
    )
    assert made[("/eh1/minidiff", "command", "abort")] == (
        "abort",
        {"tangoname": "id23/md/1"},
    )
    # long notation: <toexecute> is the text, <argument>s are described
    assert made[("/eh1/minidiff", "command", "startSetPhase")] == (
        "startSetPhase",
        {"tangoname": "id23/md/1"},
    )
    arguments = diff.get_command_object("startSetPhase").get_arguments()
    assert arguments == [
        {
            "name": "phase",
            "type": "combo",
            "items": [
                ("Centring", "Centring"),
                ("Data collection", "DataCollection"),
            ],
            "onchange": "phaseChanged",
            "valuefrom": None,
        }
    ]
    zoom = diff.get_command_object("setZoom")
    assert zoom.get_combo_argument_items("level") == [("1", 1), ("2", 2)]
    assert diff.get_command_names_list() == ["abort", "startSetPhase", "setZoom"]
    # names never become numbers
    phi = repo.get_hardware_object("/eh1/phi")
    assert phi.get_channel_names_list() == ["position", "123"]
    assert phi.get_channel_value("123") == "State"
    assert made[("/eh1/phi", "channel", "position")] == (
        "Position",
        {"polling": "events", "tangoname": "id23/md/phi"},
    )


def test_tine_items_inherit_tinename(make_repo, providers):
    repo = make_repo(MXCUBE)
    repo.get_hardware_object("/eh1/camera")
    made = providers["tine"].made
    assert made[("/eh1/prosilica", "channel", "image")] == (
        "IMAGE",
        {
            "attach": "datachange",
            "tolerance": "0.1%",
            "size": 1024,
            "tinename": "/ID23/CAMERA/PROSILICA",
        },
    )
    assert made[("/eh1/prosilica", "command", "snap")] == (
        "SNAP",
        {"timeout": 2000, "tinename": "/ID23/CAMERA/PROSILICA"},
    )


def test_camelcase_aliases_of_old_scripts(make_repo, providers):
    repo = make_repo(MXCUBE)
    diff = repo.getHardwareObject("eh1/minidiff")
    assert diff.getProperty("username") == "MiniDiff"
    assert diff.getObjectByRole("phi") is repo.get_hardware_object("/eh1/phi")
    assert diff.getChannelObject("State").get_value() == "State"
    assert diff.getCommandObject("abort").name() == "abort"

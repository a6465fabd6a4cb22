"""Equipment derives its state from its members; Device/Equipment legacy signals."""

from __future__ import annotations

import gevent
import pytest

from HardwareRepository.BaseHardwareObjects import (
    Device,
    Equipment,
    HardwareObject,
    HardwareObjectState,
    combine_states,
)

S = HardwareObjectState


@pytest.mark.parametrize(
    ("states", "expected"),
    [
        ([], S.UNKNOWN),
        ([S.READY, S.READY], S.READY),
        ([S.READY, S.BUSY], S.BUSY),
        ([S.BUSY, S.FAULT, S.UNKNOWN], S.FAULT),
        ([S.BUSY, S.UNKNOWN], S.UNKNOWN),
        ([S.WARNING, S.BUSY], S.BUSY),
        ([S.READY, S.WARNING], S.WARNING),
        ([S.OFF, S.OFF], S.OFF),
        ([S.OFF, S.READY], S.WARNING),
    ],
)
def test_combine_states(states, expected):
    assert combine_states(states) is expected


def _equipment_of(*members):
    equipment = Equipment("/eq")
    for i, member in enumerate(members):
        equipment.add_object("device", member, f"m{i}")
    equipment._init()
    return equipment


def test_state_follows_members_and_emits_legacy_signals():
    a, b = Device("/a"), Device("/b")
    equipment = _equipment_of(a, b)
    seen = []
    equipment.connect("stateChanged", seen.append)
    equipment.connect("equipmentReady", lambda: seen.append("equipmentReady"))
    equipment.connect("equipmentNotReady", lambda: seen.append("equipmentNotReady"))
    assert seen == [S.UNKNOWN]  # connect_notify re-emitted the state
    a.set_is_ready(True)
    assert equipment.get_state() is S.UNKNOWN  # b is still unknown
    b.update_state(S.READY)
    assert equipment.is_ready()
    b.update_state(S.BUSY)
    a.update_state(S.FAULT)
    a.update_state(S.READY)
    b.update_state(S.READY)
    assert seen == [
        S.UNKNOWN,
        S.READY,
        "equipmentReady",
        S.BUSY,
        "equipmentNotReady",
        S.FAULT,
        S.BUSY,
        S.READY,
        "equipmentReady",
    ]
    assert equipment.get_devices() == [a, b]


def test_set_is_ready_is_the_equipments_own_opinion():
    lonely = Equipment("/lonely")
    lonely._init()
    assert lonely.get_state() is S.UNKNOWN
    lonely.set_is_ready(True)  # no members: mxCuBE's set_is_ready still works
    assert lonely.is_ready()
    lonely.set_is_ready(False)
    assert not lonely.is_ready()

    member = Device("/m")
    equipment = _equipment_of(member)
    member.set_is_ready(True)
    assert equipment.is_ready()
    equipment.set_is_ready(False)  # not ready whatever the members say
    assert equipment.get_state() is S.UNKNOWN
    equipment.set_is_ready(True)
    assert equipment.is_ready()
    member.update_state(S.BUSY)
    assert equipment.get_state() is S.BUSY
    equipment.update_state(S.FAULT)
    assert equipment.get_state() is S.FAULT


def test_plain_hardware_objects_take_no_part_until_they_report_a_state():
    motor, plain = Device("/motor"), HardwareObject("/plain")
    equipment = _equipment_of(motor, plain)
    motor.update_state(S.READY)
    assert equipment.is_ready()  # the plain object has no state logic
    plain.update_state(S.WARNING)  # now it reports one
    assert equipment.get_state() is S.WARNING


def test_wait_ready_wakes_when_the_last_member_is_ready():
    a, b = Device("/a"), Device("/b")
    equipment = _equipment_of(a, b)
    a.update_state(S.READY)

    def later():
        b.update_state(S.BUSY)
        gevent.sleep(0.05)
        b.update_state(S.READY)

    worker = gevent.spawn(later)
    equipment.wait_ready(timeout=10)
    assert equipment.is_ready()
    worker.join(10)


def test_equipment_of_references_in_a_repository(make_repo, tmp_path, write):
    # The demo's shape: an equipment made of references only, to Devices,
    # to a plain object and, inside a node, to a nested equipment.
    write(tmp_path, "omega.xml", "<device/>")
    write(tmp_path, "phi.xml", "<device/>")
    write(
        tmp_path,
        "monitor.xml",
        '<object><channel type="sim" name="i" value="1"/></object>',
    )
    write(
        tmp_path,
        "hutch.xml",
        '<equipment><device role="door" name="door"/></equipment>',
    )
    write(
        tmp_path,
        "beamline.xml",
        """<equipment>
  <object href="/omega" role="omega"/>
  <object href="/monitor" role="monitor"/>
  <others>
    <object href="/phi" role="phi"/>
    <object href="/hutch" role="hutch"/>
  </others>
</equipment>""",
    )
    repo = make_repo(tmp_path)
    beamline = repo.get_hardware_object("/beamline")
    omega = repo.get_hardware_object("/omega")
    phi = repo.get_hardware_object("/phi")
    hutch = repo.get_hardware_object("/hutch")
    door = hutch.get_object_by_role("door")
    assert beamline.get_members() == [
        omega,
        repo.get_hardware_object("/monitor"),
        phi,
        hutch,
    ]
    assert beamline.get_state() is S.UNKNOWN
    omega.set_is_ready(True)
    phi.set_is_ready(True)
    assert beamline.get_state() is S.UNKNOWN  # the hutch's door is unknown
    door.set_is_ready(True)
    assert hutch.is_ready()
    assert beamline.is_ready()
    phi.update_state(S.BUSY)
    assert beamline.get_state() is S.BUSY

    # a reloaded member is followed in place of the old one
    new_phi = repo.reload_hardware_object("/phi")
    assert beamline.get_object_by_role("phi") is new_phi
    assert beamline.get_state() is S.UNKNOWN  # the new phi is not ready yet
    new_phi.set_is_ready(True)
    assert beamline.is_ready()
    phi.update_state(S.FAULT)  # the old instance no longer counts
    assert beamline.is_ready()


def test_failed_member_keeps_the_equipment_unknown(make_repo, tmp_path, write):
    write(tmp_path, "omega.xml", "<device/>")
    write(
        tmp_path,
        "eq.xml",
        '<equipment><object href="/omega" role="omega"/>'
        '<object href="/missing" role="gone"/></equipment>',
    )
    repo = make_repo(tmp_path)
    equipment = repo.get_hardware_object("/eq")
    repo.get_hardware_object("/omega").set_is_ready(True)
    assert equipment.get_state() is S.UNKNOWN

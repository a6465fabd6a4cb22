"""The terminal table of ``hwr demo`` on simulated objects (no Tango)."""

from __future__ import annotations

import io

from HardwareRepository.cli._table import LiveTable
from HardwareRepository.HardwareRepository import HardwareRepository

MOTOR = """\
<device class="TangoMotor">
  <unit>mm</unit>
  <channel type="sim" name="position" value="1.5">Position</channel>
  <channel type="sim" name="state" value="ON">State</channel>
  <command type="sim" name="stop">Stop</command>
</device>
"""

MACHINE = """\
<object class="MachineInfo">
  <channel type="sim" name="current" value="199.5">Current</channel>
</object>
"""

THING = """\
<object>
  <channel type="sim" name="counts" value="5">Counts</channel>
</object>
"""


def test_the_table_never_shows_a_stale_value_as_current(tmp_path):
    (tmp_path / "motor.xml").write_text(MOTOR)
    (tmp_path / "machine.xml").write_text(MACHINE)
    (tmp_path / "thing.xml").write_text(THING)
    repository = HardwareRepository(str(tmp_path))
    try:
        repository.load_all()
        table = LiveTable(repository.hardware_objects, out=io.StringIO())
        assert table.rows() == [
            ("/machine", "READY", "199.50 mA"),
            ("/motor", "READY (ON)", "1.5 mm"),
            ("/thing", "-", "counts=5"),
        ]
        for name, channel in (
            ("motor", "position"),
            ("machine", "current"),
            ("thing", "counts"),
        ):
            obj = repository.get_hardware_object(name)
            obj.get_channel_object(channel).set_connected(False)
        assert table.rows() == [
            ("/machine", "UNKNOWN (DISCONNECTED)", "not connected (last: 199.50 mA)"),
            ("/motor", "UNKNOWN (DISCONNECTED)", "not connected (last: 1.5 mm)"),
            ("/thing", "-", "counts=not connected"),
        ]
    finally:
        repository.shutdown()

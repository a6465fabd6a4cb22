"""Use the green proxy in a fresh process, patched as the first argument says.

Run by test_green_patching.py: ``python _patched_green.py none|no-thread|all``
with the device's full name in ``$GREEN_TEST_DEVICE``. Prints ``OK <checks>``.
"""

# ruff: noqa: E402 (imports come after patch_as(), on purpose)

import os
import sys

from HardwareRepository.testing.patching import patch_as

patch_as(sys.argv[1])

import gevent
import tango

from HardwareRepository.bridge import AsyncResult, Event, native
from HardwareRepository.tango import DeviceProxy, Timeout

checks = []
dev = DeviceProxy(os.environ["GREEN_TEST_DEVICE"])

assert dev.state() == tango.DevState.ON
result = dev.read_attribute("wave", wait=False)
assert isinstance(result, AsyncResult)
assert result.get(timeout=10).value.shape == (256,)
checks.append("calls")

message = ""
try:
    dev.command_inout("Sleep", 1.0, timeout=0.1)
except Timeout as exc:
    message = str(exc)
assert "command_inout('Sleep')" in message, message
checks.append("timeout")

ticks = []
ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.005)) for _ in range(1000)])
assert gevent.spawn(dev.command_inout, "Sleep", 0.2).get(timeout=10) == 0.2
ticker.kill()
assert len(ticks) >= 5, ticks
checks.append("cooperative")

values = []
done = Event()
main_thread = native.get_ident()


def on_count(event):
    assert native.get_ident() == main_thread
    values.append(event.attr_value.value)
    if len(values) > 1 and values[-1] == values[0] + 1000:
        done.set()


event_id = dev.subscribe_event("Count", tango.EventType.CHANGE_EVENT, on_count)
dev.command_inout("PushCount", 1000)
assert done.wait(30), values[-3:]
dev.unsubscribe_event(event_id)
assert values == list(range(values[0], values[0] + 1001))
checks.append("events")

dev.close()
print("OK " + ",".join(checks))

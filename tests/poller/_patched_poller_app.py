"""Use the Poller in a fresh process after ``gevent.monkey.patch_all(thread=False)``.

Run by test_poller_monkey_patching.py. Prints ``OK <checks>`` on success.
"""

# ruff: noqa: E402 (imports come after patch_as(), on purpose)

import sys

from HardwareRepository.testing.patching import patch_as

patch_as(sys.argv[1])

import time

import gevent
from gevent._hub_local import get_hub_if_exists
from greenlet import getcurrent

from HardwareRepository import Poller
from HardwareRepository.bridge import Event, native

main = native.get_ident()
seen = []
got = []
done = Event()


class Device:
    def read(self):
        seen.append((native.get_ident(), get_hub_if_exists(), getcurrent().parent))
        return len(seen)


def on_value(value):
    got.append((value, native.get_ident()))
    gevent.sleep(0)  # callbacks may wait cooperatively
    if len(got) == 5:
        done.send()


device = Device()
poller = Poller.poll(device.read, (), 5, on_value, None, False)
assert done.wait(20), got
poller.stop()
checks = []
assert all(ident != main for ident, _, _ in seen), "polled in the main thread"
assert all(hub is None for _, hub, _ in seen), "a hub was created in a pool thread"
assert all(parent is None for _, _, parent in seen), "polled in a greenlet"
checks.append("thread")
assert [v for v, _ in got[:5]] == [1, 2, 3, 4, 5]
assert all(ident == main for _, ident in got), "callback outside the main thread"
checks.append("delivery")
t0 = time.monotonic()
assert Poller.shutdown(timeout=10)
assert Poller.pool_threads() == 0
checks.append("shutdown")
print("OK", ",".join(checks))

"""Run a Taco channel and a TINE channel in a fresh, patched process.

Run by test_patched.py: ``python _patched_app.py none|no-thread|all``. Prints
``OK <checks>`` on success.
"""

# ruff: noqa: E402 (imports come after patch_as(), on purpose)

import sys

from HardwareRepository.testing.patching import patch_as

patch_as(sys.argv[1])

import gevent
import gevent.event

from HardwareRepository import Poller
from HardwareRepository.bridge import native
from HardwareRepository.Command import Taco, Tine, taco_sim, tine_sim

checks = []
main = native.get_ident()
poll_threads = set()


def read():
    poll_threads.add(native.get_ident())
    return 42


taco_sim.define_device("id/dev/1", {"DevRead": read})
server = tine_sim.define_server("/A/B/C", {"P": 1})

taco_ch = Taco.TacoChannel("t", "DevRead", "id/dev/1", polling=0.02, client=taco_sim)
tine_ch = Tine.TineChannel("n", "P", "/A/B/C", attach="event", client=tine_sim)
got = {"t": [], "n": []}
threads = set()
changed = gevent.event.Event()


def receiver(key):
    def on_update(value):
        got[key].append(value)
        threads.add(native.get_ident())
        changed.set()

    return on_update


taco_receiver, tine_receiver = receiver("t"), receiver("n")
taco_ch.connect_signal("update", taco_receiver, weak=False)
tine_ch.connect_signal("update", tine_receiver, weak=False)
with gevent.Timeout(10):
    while not (got["t"] and got["n"]):
        changed.clear()
        changed.wait()
    server.publish("P", 2)
    while got["n"][-1:] != [2]:
        changed.clear()
        changed.wait()
assert got["t"] == [42], got
assert main not in poll_threads
assert threads == {main}
checks.append("values")
command = Tine.TineCommand("c", "P", "/A/B/C", client=tine_sim)
assert command(5) is None
assert server.value("P") == 5
checks.append("command")
taco_ch.close()
tine_ch.close()
command.close()
Poller.shutdown()
assert tine_sim.link_count() == 0
print("OK", " ".join(checks))

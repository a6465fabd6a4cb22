"""Exercise the bridge in a fresh process, patched as the first argument says.

Run by test_monkey_patching.py: ``python _patched_app.py none|no-thread|all``.
Prints ``OK <checks>`` on success.
"""

# ruff: noqa: E402 (imports come after patch_as(), on purpose)

import sys

from HardwareRepository.testing.patching import patch_as

patch_as(sys.argv[1])

import threading

import gevent

from HardwareRepository.bridge import (
    AsyncResult,
    HubTrigger,
    Launcher,
    Lock,
    Queue,
    Thread,
    native,
)

checks = []
main_ident = native.get_ident()

# A real OS thread, whatever threading became.
worker = Thread(name="patched-worker")
worker.start(timeout=10)
assert worker.apply(native.get_ident, timeout=10) != main_ident
checks.append("thread")

# Thread -> hub: trigger, launcher, queue, result.
fired = AsyncResult()
trigger = HubTrigger(
    lambda: fired.set(native.get_ident()) if not fired.ready() else None
)
launcher = Launcher()
q = Queue()


def from_native_thread():
    trigger.send()
    q.put(launcher.apply(lambda: native.get_ident()))


native.start_new_thread(from_native_thread, ())
assert q.get(timeout=10) == main_ident
assert fired.get(timeout=10) == main_ident
checks.append("crossing")

# A lock contended by a greenlet here and a greenlet in the worker's hub.
lock = Lock()
counter = [0]


def bump(n):
    for _ in range(n):
        with lock:
            v = counter[0]
            gevent.sleep(0)
            counter[0] = v + 1


remote = worker.spawn(bump, 100)
bump(100)
remote.get(timeout=10)
assert counter[0] == 200, counter
checks.append("lock")

worker.stop(timeout=10)
print("OK", ",".join(checks), threading.__name__)

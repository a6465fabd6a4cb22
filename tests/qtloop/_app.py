"""A small GUI process for the subprocess tests: ``python _app.py MODE``.

Modes:
  sigint  -- print "ready" once exec_() runs, then wait for SIGINT to quit it.
  idle    -- one greenlet sleeping, 1 s of exec_(): print CPU seconds and
             the hub's wake-ups as "cpu=<s> wakeups=<n>".
  quit    -- greenlets and a thread-fed signal, then app.quit(): print the
             Python threads left as "threads=<n>".
"""

from __future__ import annotations

import sys
import threading
import time

import gevent
from qtpy import QtCore, QtWidgets

from HardwareRepository import qtloop


def main(mode: str) -> int:
    app = QtWidgets.QApplication(sys.argv[:1])
    hub = qtloop.install(app)
    if mode == "sigint":
        ticker = gevent.spawn(lambda: [gevent.sleep(0.01) for _ in iter(int, 1)])
        QtCore.QTimer.singleShot(0, lambda: print("ready", flush=True))
        app.exec_()
        ticker.kill()
        print("quit", flush=True)
    elif mode == "idle":
        sleeper = gevent.spawn(gevent.sleep, 60)
        gevent.sleep(0.2)  # settle: imports, first paint, lazy Qt setup
        result = {}

        def start() -> None:
            result["cpu"] = time.process_time()
            result["wakeups"] = hub.wakeups
            QtCore.QTimer.singleShot(1000, stop)

        def stop() -> None:
            result["cpu"] = time.process_time() - result["cpu"]
            result["wakeups"] = hub.wakeups - result["wakeups"]
            app.quit()

        QtCore.QTimer.singleShot(0, start)
        app.exec_()
        sleeper.kill()
        print(f"cpu={result['cpu']:.6f} wakeups={result['wakeups']}", flush=True)
    elif mode == "quit":
        worker = threading.Thread(target=time.sleep, args=(0.05,))
        worker.start()
        greenlets = [gevent.spawn(gevent.sleep, 0.01 * i) for i in range(10)]
        gevent.spawn_later(0.1, app.quit)
        app.exec_()
        worker.join()
        gevent.joinall(greenlets)
        print(f"threads={threading.active_count()}", flush=True)
    qtloop.uninstall()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))

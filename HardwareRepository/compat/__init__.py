"""Compatibility layers for code written against other concurrency toolkits.

* :mod:`HardwareRepository.compat.fandango` -- fandango's ``ThreadedObject``,
  ``ThreadDict``, ``WorkerThread``, ``WorkerProcess`` and ``QWorker``;
* :mod:`HardwareRepository.compat.cothread` -- Diamond's cothread API
  (``Spawn``, ``Sleep``, ``Event``, ``RLock``, ``EventQueue``, ``Timer``, ...)
  on gevent.

Both are thin layers on :mod:`HardwareRepository.toolkit` and
:mod:`HardwareRepository.bridge`; import the one you need explicitly.
"""

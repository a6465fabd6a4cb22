"""The demo beamline: simulated Tango device servers and their configuration.

The device servers (:mod:`.devices`) are real Tango servers written with
PyTango's high-level API; ``hwr demo`` starts them in a child process without a
Tango database. Only their physics is simulated.
"""

"""The EPICS tests use the run's caproto IOC (``epics_ioc``, tests/conftest.py)."""

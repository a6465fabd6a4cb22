"""Helpers for testing code built on this package (not imported at run time)."""

from ._leaks import LeakReport, ResourceSnapshot, wait_for_no_leaks

__all__ = ["LeakReport", "ResourceSnapshot", "wait_for_no_leaks"]

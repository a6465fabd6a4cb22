"""One line per figure: name, measured value, target, and whether it is met."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Figure:
    """One measured figure and its target.

    :param name: what was measured, e.g. ``"bridge: thread->hub latency p50"``.
    :param value: the measurement, in ``unit``.
    :param unit: e.g. ``"us"``, ``"ms"``, ``"posts/s"``, ``"%"``.
    :param target: the target as text, e.g. ``"<= 30"``; empty for a reference
        figure that has no target (say what it is in ``note``).
    :param ok: whether the target is met (``None`` for a reference figure).
    :param note: anything else worth printing (the reference systems' figure).
    """

    name: str
    value: float
    unit: str
    target: str = ""
    ok: bool | None = None
    note: str = ""

    def line(self) -> str:
        """Format the figure as one line of ``make bench`` output."""
        verdict = {True: "ok", False: "MISSED", None: "--"}[self.ok]
        target = f"target {self.target} {self.unit}" if self.target else "reference"
        text = (
            f"{self.name:<58} {self.value:>12.4g} {self.unit:<8} {target:<24} {verdict}"
        )
        return f"{text}  ({self.note})" if self.note else text


def at_most(name: str, value: float, unit: str, limit: float, note: str = "") -> Figure:
    """A figure whose target is ``value <= limit``."""
    return Figure(name, value, unit, f"<= {limit:g}", value <= limit, note)


def at_least(
    name: str, value: float, unit: str, limit: float, note: str = ""
) -> Figure:
    """A figure whose target is ``value >= limit``."""
    return Figure(name, value, unit, f">= {limit:g}", value >= limit, note)


def percentile(samples: list[float], fraction: float) -> float:
    """Return the ``fraction`` (0..1) percentile of ``samples`` (nearest rank)."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]

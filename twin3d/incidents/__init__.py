"""Synthetic incidents with physical labels, and counterfactual root-cause analysis.

:mod:`.faults` defines what breaks, :mod:`.window` simulates an incident's
window with the twin's physics, :mod:`.telemetry` turns the steps into an
operator's counters and alarms.
"""

from .faults import ELEMENT_KIND, FAULT_KINDS, Fault, WindowSpec, fault_events
from .telemetry import ALARMS, METRICS, Telemetry, window_telemetry
from .window import WindowRun, causal_chain, run_window

__all__ = ["FAULT_KINDS", "ELEMENT_KIND", "Fault", "WindowSpec", "fault_events", "ALARMS", "METRICS",
           "Telemetry", "window_telemetry", "WindowRun", "run_window", "causal_chain"]

"""``--terms JSON`` of the radio benchmarks: overrides of the geometric model's terms."""

from __future__ import annotations

import argparse
import json

from twin3d.physics.geometric.model import DEFAULT_TERMS

HELP = "JSON overrides of the geometric model's terms (DEFAULT_TERMS), e.g. '{\"corner_rounds\": 0}'"


def parse_terms(ap: argparse.ArgumentParser, text: str) -> dict:
    """The ``--terms`` object, or ``ap.error`` (exit status 2) naming what is wrong."""
    try:
        terms = json.loads(text)
    except json.JSONDecodeError as err:
        ap.error(f"--terms: not JSON ({err})")
    if not isinstance(terms, dict) or set(terms) - set(DEFAULT_TERMS):
        ap.error(f"--terms: a JSON object of terms among {', '.join(DEFAULT_TERMS)}")
    return terms

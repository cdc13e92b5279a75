"""M/M/1 queue: the textbook reference, Little's law, a simulated queue, link delay."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from twin3d.physics.queueing import link_delay_s, mm1


def test_mm1_reference_values():
    """lambda 1/4, mu 1/3 (DESIGN.md section 5): rho 0.75, W 12, Wq 9, L 3, Lq 2.25."""
    q = mm1(1 / 4, 1 / 3)
    assert q.rho == pytest.approx(0.75, abs=0.01)
    assert q.W == pytest.approx(12.0, abs=0.01)
    assert q.Wq == pytest.approx(9.0, abs=0.01)
    assert q.L == pytest.approx(3.0, abs=0.01)
    assert q.Lq == pytest.approx(2.25, abs=0.01)


@given(lam=st.floats(1e-9, 1e6), frac=st.floats(0.0, 0.999))
def test_littles_law(lam, frac):
    """L = lambda W and Lq = lambda Wq for any stable queue; W = Wq + 1/mu."""
    mu = lam / frac if frac > 0 else lam + 1.0
    q = mm1(lam, mu)
    assert q.L == pytest.approx(lam * q.W, rel=1e-9, abs=1e-12)
    assert q.Lq == pytest.approx(lam * q.Wq, rel=1e-9, abs=1e-12)
    assert q.W == pytest.approx(q.Wq + 1 / mu, rel=1e-9)


def test_simulated_queue_matches():
    """Lindley's recursion over 200k seeded customers gives the same mean sojourn (2 %)."""
    rng = np.random.default_rng(7)
    n, lam, mu = 200_000, 1 / 4, 1 / 3
    gaps = rng.exponential(1 / lam, n)
    service = rng.exponential(1 / mu, n)
    wait = np.zeros(n)
    for i in range(1, n):
        wait[i] = max(0.0, wait[i - 1] + service[i - 1] - gaps[i])
    assert np.mean(wait + service) == pytest.approx(mm1(lam, mu).W, rel=0.05)


def test_unstable_queue_is_infinite_and_arrays_broadcast():
    q = mm1(np.array([0.0, 1.0, 2.0, 3.0]), 2.0)
    assert q.rho.tolist() == [0.0, 0.5, 1.0, 1.5]
    assert q.W.tolist() == [0.5, 1.0, np.inf, np.inf]
    assert q.Lq.tolist() == [0.0, 0.5, np.inf, np.inf]


@pytest.mark.parametrize("lam, mu", [(-1.0, 1.0), (float("nan"), 1.0), (1.0, 0.0), (1.0, -2.0)])
def test_mm1_rejects_bad_rates(lam, mu):
    with pytest.raises(ValueError, match="rate"):
        mm1(lam, mu)


def test_link_delay():
    """12 000-bit packets: 10 Gb/s with 7.5 Gb/s offered -> 12000 / 2.5e9 s."""
    d = link_delay_s(np.array([0.0, 7.5e9, 10e9, 12e9]), 10e9)
    assert d[0] == pytest.approx(1.2e-6)
    assert d[1] == pytest.approx(4.8e-6)
    assert d[2:].tolist() == [np.inf, np.inf]
    # same as the queue of packets: W = 1/(mu - lambda), rates in packets/s
    assert d[1] == pytest.approx(mm1(7.5e9 / 12_000, 10e9 / 12_000).W)
    assert link_delay_s(1e9, 0.0) == np.inf
    assert link_delay_s(1e9, 2e9, mean_packet_bits=8000) == pytest.approx(8e-6)


@pytest.mark.parametrize("kw", [{"load_bps": -1.0}, {"capacity_bps": -5.0},
                                {"mean_packet_bits": 0.0}])
def test_link_delay_rejects_bad_input(kw):
    args = {"load_bps": 1.0, "capacity_bps": 2.0} | kw
    with pytest.raises(ValueError, match=next(iter(kw))):
        link_delay_s(**args)

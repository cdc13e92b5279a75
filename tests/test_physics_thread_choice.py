"""ThreadChoice: serial or threads by the measured time of each, never by the load alone."""

from __future__ import annotations

import pytest

from twin3d.physics import threads
from twin3d.physics.threads import ThreadChoice


@pytest.fixture
def two_threads(monkeypatch):
    monkeypatch.setattr(threads, "usable_threads", lambda: 2)


def _run(choice, calls, cost_s):
    """``calls`` calls; ``cost_s(threaded, call)`` the seconds per item of each."""
    modes = []
    for i in range(calls):
        threaded = choice.choose()
        modes.append(threaded)
        choice.record(threaded, 64 * cost_s(threaded, i), items=64)
    return modes


def test_the_cheaper_mode_runs_and_the_looks_at_the_other_thin_out(two_threads):
    """Calls 1 to 4 try each mode; the first look back is 10 calls after the choice
    (call 15); each look that finds serial still slower doubles the calls to the next
    (20, 40, then 80 at most)."""
    choice = ThreadChoice(explore_every=10)
    modes = _run(choice, 240, lambda threaded, i: 30e-6 if threaded else 57e-6)
    assert modes[:4] == [True, True, False, False]          # each tried; first calls not counted
    assert [i for i in range(4, 240) if not modes[i]] == [14, 34, 74, 154, 234]
    assert choice.cost_s == pytest.approx([57e-6, 30e-6])
    capped = _run(ThreadChoice(explore_every=10, explore_max=20), 100,
                  lambda threaded, i: 30e-6 if threaded else 57e-6)
    assert [i for i in range(4, 100) if not capped[i]] == [14, 34, 54, 74, 94]


def test_a_first_call_is_not_counted(two_threads):
    """The first call of a mode compiles or starts the thread pool: seconds, not µs."""
    choice = ThreadChoice(explore_every=50)
    modes = _run(choice, 20, lambda threaded, i: (5.0 if i == 0 else 30e-6) if threaded else 57e-6)
    assert modes[4:] == [True] * 16


def test_a_machine_that_gets_busy_moves_the_choice_to_serial(two_threads):
    """Threads win on a quiet machine; once other work takes the second core they
    cost more than serial, and the next looks at serial move the choice."""
    choice = ThreadChoice(explore_every=5, weight=0.5)
    busy_from = 40
    modes = _run(choice, 160, lambda threaded, i:
                 (263e-6 if i >= busy_from else 30e-6) if threaded else 179e-6)
    assert modes[10:busy_from].count(True) >= 20
    # two busy calls move the average past serial's; then only looks back run threads,
    # 5 calls after the change, then 10, 20, 40 and 40 (the most) apart
    assert [i for i in range(busy_from, 160) if modes[i]] == [40, 41, 47, 57, 77, 117, 157]
    assert choice.cost_s[1] > choice.cost_s[0]


def test_a_machine_quiet_again_moves_the_choice_back_at_the_next_look(two_threads):
    """Busy for a while (threads cost 263 µs a copy, serial 179), then quiet again
    (threads 30, serial 57): the first look at threads after the quiet returns
    (at most ``explore_max`` calls on) replaces their stale average, and threads
    run from the next call on."""
    choice = ThreadChoice(explore_every=10)
    quiet_from = 100

    def cost(threaded, i):
        busy = 20 <= i < quiet_from
        return (263e-6 if busy else 30e-6) if threaded else (179e-6 if busy else 57e-6)

    modes = _run(choice, 240, cost)
    assert modes[60:quiet_from].count(True) == 1          # serial while busy, but a look
    first_look = next(i for i in range(quiet_from, 240) if modes[i])
    assert first_look < quiet_from + choice.explore_max
    assert all(modes[first_look + 1:first_look + 10])     # then threads, until a look at serial


def test_no_threads_where_they_may_not_run(monkeypatch):
    monkeypatch.setattr(threads, "usable_threads", lambda: 1)
    choice = ThreadChoice()
    assert _run(choice, 10, lambda threaded, i: 1e-6 if threaded else 1.0) == [False] * 10


@pytest.mark.parametrize("kw", [dict(explore_every=1), dict(weight=0.0), dict(weight=1.5),
                                dict(explore_every=10, explore_max=5)])
def test_bad_settings_are_refused(kw):
    with pytest.raises(ValueError):
        ThreadChoice(**kw)

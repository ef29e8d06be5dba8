"""The watchers' shared accounting (tests/sampling.py) and fault switches (tests/faults.py)."""

from __future__ import annotations

import threading

import pytest
from faults import ENV, active_faults, fault
from sampling import DROP_EVERY, SampleLedger, Sampler, Window


def ledger_of(*attempts: tuple[float, str | None], share: float = 0.1) -> SampleLedger:
    ledger = SampleLedger("watcher", max_lost_share=share)
    for at, lost in attempts:
        if lost is None:
            ledger.taken(at)
        else:
            ledger.lost(at, lost)
    return ledger


def test_a_watcher_that_lost_nothing_has_no_problems() -> None:
    ledger = ledger_of((1, None), (2, None), (3, None))
    assert ledger.problems([Window("w", 1.5, 3)]) == []
    assert ledger.summary().startswith("watcher: 3 samples taken, 0 lost (0.0%")


def test_losing_more_than_the_share_is_a_problem_at_the_share_not_one_below() -> None:
    within = ledger_of(*[(t, None) for t in range(9)], (9, "timeout"))
    assert within.share_problems() == []  # 1 of 10 at a 10% share
    beyond = ledger_of(*[(t, None) for t in range(8)], (8, "timeout"), (9, "refused"))
    [problem] = beyond.share_problems()
    assert "lost 2 of 10 samples (20.0%; at most 10%" in problem
    assert "first: timeout" in problem


def test_a_watcher_that_took_no_sample_says_so() -> None:
    assert ledger_of((1, "refused")).share_problems() == [
        "watcher took no sample (1 attempts lost)"
    ]


def test_a_lost_sample_counts_in_a_window_its_unseen_stretch_overlaps() -> None:
    # Attempts at 1 (taken), 2 (lost: 1..2 unseen), 3 (taken), 4 (lost: 3..4 unseen).
    ledger = ledger_of((1, None), (2, "a"), (3, None), (4, "b"), share=0.9)
    assert [a.lost for a in ledger.lost_in(Window("w", 1.5, 1.8))] == ["a"]
    assert [a.lost for a in ledger.lost_in(Window("w", 2.0, 3.0))] == ["a"]
    assert ledger.lost_in(Window("w", 2.1, 3.0)) == []
    assert [a.lost for a in ledger.lost_in(Window("w", 0, 10))] == ["a", "b"]
    [problem] = ledger.window_problems([Window("of case x", 3.5, 5)])
    assert problem == "watcher lost 1 samples in the critical window of case x (1.5s); first: b"


def test_a_window_without_any_sample_taken_is_a_problem() -> None:
    ledger = ledger_of((1, None), (5, None))
    assert ledger.window_problems([Window("between", 2, 3)]) == [
        "watcher took no sample in the critical window between"
    ]


def test_the_longest_interval_counts_taken_samples_only() -> None:
    assert ledger_of((1, None), (2, "x"), (4.5, None), (5, None)).longest_interval() == 3.5


def test_a_share_outside_zero_to_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_lost_share"):
        SampleLedger("w", max_lost_share=1.0)


def test_the_sampler_files_each_call_and_the_drop_samples_fault_loses_one_in_four(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV, "drop-samples")
    ledger = SampleLedger("w", max_lost_share=0.02)
    calls = threading.Semaphore(0)
    count = 0

    def probe() -> float:
        nonlocal count
        count += 1
        calls.release()
        if count == 2:
            raise ConnectionError("refused")
        return float(count)

    sampler = Sampler("test-sampler", probe, ledger, every=0.001)
    sampler.start()
    for _ in range(6):  # probe runs on attempts 1-3, 5-7 (4 and 8 are dropped)
        assert calls.acquire(timeout=10)
    sampler.stop()
    lost = [a.lost for a in ledger.attempts()[: 2 * DROP_EVERY - 1] if a.lost]
    assert lost == [
        "ConnectionError: refused",
        "SampleDropped: dropped by the drop-samples fault switch",
    ]
    assert ledger.share_problems()  # 2 of 7+ is far beyond 2%


def test_fault_switches_parse_and_refuse_unknown_names() -> None:
    assert active_faults({}) == frozenset()
    assert active_faults({ENV: " two-pods, leak-configmap ,"}) == {"two-pods", "leak-configmap"}
    assert fault("two-pods", {ENV: "two-pods"})
    assert not fault("drop-samples", {ENV: "two-pods"})
    with pytest.raises(ValueError, match=f"{ENV}: unknown fault switch two-pod; known: "):
        active_faults({ENV: "two-pod"})
    with pytest.raises(KeyError, match="no fault switch"):
        fault("no-such-switch", {})

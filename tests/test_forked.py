"""util.forked: a GIL-holding map shared with a forked child gives exactly the serial result."""

from __future__ import annotations

import os
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from repopack.util import forked


def test_forked_map_equals_the_serial_map() -> None:
    items = [str(i) * (i % 50) for i in range(2000)]
    assert forked.can_fork()
    assert forked.map_ints(len, items, [len(x) for x in items], min_weight=0) == [len(x) for x in items]


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=-(2**62), max_value=2**62), max_size=60))
def test_any_values_come_back_in_order(values: list[int]) -> None:
    assert forked.map_ints(lambda v: v, values, [1] * len(values), min_weight=0) == values


def test_a_child_that_fails_is_replaced_by_the_parent_doing_its_part() -> None:
    parent = os.getpid()

    def fn(x: int) -> int:
        if os.getpid() != parent:
            raise RuntimeError("the child breaks")
        return x * 2

    items = list(range(100))
    assert forked.map_ints(fn, items, [1] * 100, min_weight=0) == [x * 2 for x in items]


def test_no_fork_while_another_thread_runs() -> None:
    parent = os.getpid()
    seen: set[int] = set()
    stop = threading.Event()
    worker = threading.Thread(target=stop.wait)
    worker.start()
    try:
        assert not forked.can_fork()
        out = forked.map_ints(lambda x: (seen.add(os.getpid()), x)[1], list(range(50)), [1] * 50, min_weight=0)
    finally:
        stop.set()
        worker.join()
    assert out == list(range(50)) and seen == {parent}

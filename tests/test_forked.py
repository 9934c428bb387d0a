"""util.forked: a GIL-holding map shared with a forked child gives exactly the serial result."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from repopack.util import forked


def test_forked_map_equals_the_serial_map_really_forks_and_survives_a_failed_child() -> None:
    # In a fresh interpreter: threads left behind by other tests would (rightly) prevent the fork.
    code = (
        "import os\n"
        "from repopack.util import forked\n"
        "assert forked.can_fork()\n"
        "items = [str(i) * (i % 50) for i in range(2000)]\n"
        "assert forked.map_ints(len, items, [len(x) for x in items], min_weight=0) == [len(x) for x in items]\n"
        "pids = forked.map_ints(lambda _: os.getpid(), items, [1] * len(items), min_weight=0)\n"
        "assert pids[0] == os.getpid() and pids[-1] != os.getpid(), pids[-1]\n"
        "parent = os.getpid()\n"
        "def breaks_in_the_child(x):\n"
        "    if os.getpid() != parent:\n"
        "        raise RuntimeError('the child breaks')\n"
        "    return x * 2\n"
        "assert forked.map_ints(breaks_in_the_child, list(range(100)), [1] * 100, min_weight=0) == "
        "[x * 2 for x in range(100)]\n"
        "print('ok')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == "ok\n", done.stderr


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(min_value=-(2**62), max_value=2**62), max_size=60))
def test_any_values_come_back_in_order(values: list[int]) -> None:
    assert forked.map_ints(lambda v: v, values, [1] * len(values), min_weight=0) == values


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

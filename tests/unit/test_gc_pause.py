"""The collector pause of bulk runs (core.kernel.gc_pause): in force inside, as before after."""

from __future__ import annotations

import gc

import pytest

from core.kernel.gc_pause import GEN0, fewer_collections, freeze_startup, with_fewer_collections


def test_inside_the_young_generation_waits_and_old_objects_are_frozen() -> None:
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    with fewer_collections():
        assert gc.get_threshold()[0] == max(before[0], GEN0)
        assert gc.get_threshold()[1:] == before[1:]
        assert gc.get_freeze_count() > frozen_before
        assert gc.isenabled()  # paused less often, never switched off
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == frozen_before


def test_nested_blocks_share_one_pause_and_an_error_restores_it() -> None:
    before = gc.get_threshold()

    @with_fewer_collections
    def inner() -> tuple[int, int, int]:
        return gc.get_threshold()

    seen: list[int] = []

    def run() -> None:
        with fewer_collections():
            seen.append(inner()[0])
            seen.append(gc.get_threshold()[0])  # the inner block left it on
            raise RuntimeError("fails inside")

    with pytest.raises(RuntimeError):
        run()
    assert seen == [max(before[0], GEN0)] * 2
    assert gc.get_threshold() == before


def test_a_workers_start_up_is_frozen_and_later_objects_are_collected() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self  # a cycle: only the cyclic collector frees it

    loaded = Node()  # stands for what start-up loaded
    try:
        freeze_startup()
        assert gc.get_freeze_count() > 0
        assert not gc.is_tracked(loaded) or all(loaded is not o for o in gc.get_objects())
        Node()  # garbage made after start-up (a chunk's)
        assert gc.collect() >= 1  # found: the young generations are walked as always
        assert gc.isenabled() and loaded.me is loaded
    finally:
        gc.unfreeze()

"""The fair queue serves callers in turn, and the caller travels with the task."""

from __future__ import annotations

import asyncio

from sipai.resilience.fairness import FairQueue, acting_for, current_caller, set_caller


def drain(queue: FairQueue[str]) -> list[str]:
    served = []
    while (item := queue.pop()) is not None:
        served.append(item)
    return served


def test_round_robin_across_callers_fifo_within_each() -> None:
    queue: FairQueue[str] = FairQueue()
    for i in range(4):
        queue.push("noisy", f"noisy{i}")
    queue.push("ana", "ana0")
    queue.push("ben", "ben0")
    queue.push("ana", "ana1")
    assert len(queue) == 7 and queue.callers == 3
    assert drain(queue) == ["noisy0", "ana0", "ben0", "noisy1", "ana1", "noisy2", "noisy3"]
    assert not queue and queue.callers == 0


def test_a_newcomer_joins_the_current_round() -> None:
    queue: FairQueue[str] = FairQueue()
    queue.push("a", "a0")
    queue.push("a", "a1")
    queue.push("b", "b0")
    assert queue.pop() == "a0"
    queue.push("c", "c0")  # c has had no turn yet this round; a has
    assert drain(queue) == ["b0", "c0", "a1"]


def test_a_caller_served_and_back_at_once_waits_for_the_next_round() -> None:
    queue: FairQueue[str] = FairQueue()
    for caller in "abc":
        queue.push(caller, f"{caller}0")
    assert queue.pop() == "a0"
    queue.push("a", "a1")  # straight back: it already had this round's turn
    assert drain(queue) == ["b0", "c0", "a1"]


def test_a_caller_back_after_a_while_is_not_sent_behind_those_who_never_left() -> None:
    queue: FairQueue[str] = FairQueue()
    for i in range(3):
        queue.push("noisy", f"n{i}")
    queue.push("quiet", "q0")
    queue.push("other", "o0")
    assert [queue.pop() for _ in range(3)] == ["n0", "q0", "o0"]
    assert queue.pop() == "n1"  # round 1 has begun; quiet comes back now
    queue.push("quiet", "q1")
    assert drain(queue) == ["q1", "n2"]


class Call:
    """A waiting call: equal to any other, told apart only by identity."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Call)

    __hash__ = object.__hash__


def test_remove_takes_an_item_out_by_identity_without_moving_its_caller() -> None:
    queue: FairQueue[Call] = FairQueue()
    first, second, other = Call(), Call(), Call()
    queue.push("a", first)
    queue.push("a", second)
    queue.push("b", other)
    assert queue.remove(second)
    assert not queue.remove(Call())
    assert queue.peek() is first
    assert queue.pop() is first
    assert queue.pop() is other
    assert queue.pop() is None


def test_pop_of_a_given_item_rotates_its_caller() -> None:
    queue: FairQueue[str] = FairQueue()
    queue.push("a", "a0")
    queue.push("a", "a1")
    queue.push("b", "b0")
    assert queue.pop("a0") == "a0"
    assert queue.peek() == "b0"


def test_oldest_is_the_first_pushed_whoever_owns_it() -> None:
    queue: FairQueue[str] = FairQueue()
    assert queue.oldest() is None and queue.peek() is None and queue.pop() is None
    queue.push("a", "a0")
    queue.push("b", "b0")
    queue.pop()
    assert queue.oldest() == "b0"


async def test_the_caller_is_per_task_and_restored_after_the_block() -> None:
    assert current_caller() == ""
    with acting_for("ana"):
        assert current_caller() == "ana"

        async def child() -> str:
            return current_caller()

        assert await asyncio.create_task(child()) == "ana"
    assert current_caller() == ""

    async def turn(user: str) -> str:
        set_caller(user)
        await asyncio.sleep(0)
        return current_caller()

    assert await asyncio.gather(turn("u1"), turn("u2")) == ["u1", "u2"]
    assert current_caller() == ""

"""Fault specs from the CLI and JSON, and the fault queue's matching rules."""

from __future__ import annotations

import pytest

from sipai.dev.faults import Fault, FaultBook, parse_fault_spec


def test_cli_specs_accept_aliases_and_typed_fields() -> None:
    fault = parse_fault_spec("429:times=2,retry_after=3.5,model=openai/gpt-oss-120b")
    assert fault == Fault("rate_limit", times=2, retry_after=3.5, model="openai/gpt-oss-120b")
    assert parse_fault_spec("503").kind == "over_capacity"
    assert parse_fault_spec("498").kind == "flex_capacity"
    assert parse_fault_spec("error:after=3").after_chunks == 3
    drop = parse_fault_spec("drop:after=1,stream=true,times=inf")
    assert (drop.kind, drop.after_chunks, drop.stream, drop.times) == ("drop", 1, True, None)
    assert parse_fault_spec("outage").times is None
    assert parse_fault_spec("outage:times=2").times == 2
    assert Fault.from_json({"kind": "outage", "model": "m"}) == Fault.outage("m")
    assert parse_fault_spec("timeout:seconds=0.5").seconds == 0.5


@pytest.mark.parametrize(
    "spec", ["nope", "429:times=0", "429:bogus=1", "429:times", "drop:stream=maybe",
             "timeout:seconds=-1"],
)
def test_bad_specs_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_fault_spec(spec)


def test_json_faults_validate_types() -> None:
    with pytest.raises(ValueError):
        Fault.from_json({"kind": "429", "times": "two"})
    with pytest.raises(ValueError):
        Fault.from_json({"times": 1})
    assert Fault.from_json({"kind": "drop", "after": 4}).after_chunks == 4


def test_queue_serves_faults_in_order_to_matching_requests_only() -> None:
    book = FaultBook()
    book.add(Fault("over_capacity", model="primary"))
    book.add(Fault("drop", stream=True, times=2))
    assert book.take("fallback", stream=False) is None
    assert book.take("fallback", stream=True) is not None  # the drop, once
    first = book.take("primary", stream=False)
    assert first is not None and first.kind == "over_capacity"
    assert book.take("primary", stream=False) is None
    last = book.take("primary", stream=True)
    assert last is not None and last.kind == "drop"
    assert book.pending() == []
    assert dict(book.injected) == {"over_capacity": 1, "drop": 2}


def test_outage_lasts_until_cleared_and_outage_only_skips_others() -> None:
    book = FaultBook([Fault("rate_limit"), Fault.outage()])
    assert book.take(None, False, outage_only=True) is not None
    assert len(book.pending()) == 2
    for _ in range(5):
        book.take("m", False)
    assert [f.kind for f in book.pending()] == ["outage"]
    book.clear()
    assert book.take("m", False) is None

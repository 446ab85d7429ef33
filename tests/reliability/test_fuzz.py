"""Property-based fuzzing of the whole OpenAPI schema with schemathesis.

Every operation is fuzzed with real keys of three roles (admin, organiser, country focal point)
with valid data, and with admin keys with invalid data. Each response must not be a server
error, must have a documented status code and content type, and must match the documented
schema; invalid data must be rejected with a 4xx.

Replay a run with the same `FUZZ_SEED`; scale it with `FUZZ_EXAMPLES` (the total number of
generated requests to aim for; the default keeps the module near a minute).
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.reliability.conftest import OTHER, OWN, PARTNER, SCHEMA_APP, World

FUZZ_SEED = int(os.environ.get("FUZZ_SEED", "20261123"))
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "2150"))

SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", SCHEMA_APP)
OPERATIONS = {op.label: op for op in (r.ok() for r in SCHEMA.get_all_operations())  # type: ignore[union-attr]
              }
# (caller, generation mode): every role with valid data, admins also with invalid data.
RUNS = [("admin", GenerationMode.POSITIVE), ("organizer", GenerationMode.POSITIVE),
        ("own_country", GenerationMode.POSITIVE), ("admin", GenerationMode.NEGATIVE)]
CASES = [(label, caller, mode) for label in OPERATIONS for caller, mode in RUNS]
EXAMPLES_PER_CASE = max(1, -(-FUZZ_EXAMPLES // len(CASES)))
POSITIVE_CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
                   response_schema_conformance]
NEGATIVE_CHECKS = [*POSITIVE_CHECKS, negative_data_rejection]

# Ids of existing records, so that generated paths hit real data and not only 404s; filled by
# each test from its seeded world before its strategy draws anything.
KNOWN: dict[str, list[Any]] = {}
STATUSES: Counter[str] = Counter()
SENT: list[int] = []


@SCHEMA.hook
def flatmap_path_parameters(_context: Any, path_parameters: dict[str, Any] | None) -> Any:
    """With valid data, half of the generated paths name records that exist (negative cases
    keep their invalid paths)."""
    if not path_parameters or not KNOWN:
        return st.just(path_parameters)
    existing = st.fixed_dictionaries({
        name: st.sampled_from(KNOWN[name]) if KNOWN.get(name) else st.just(value)
        for name, value in path_parameters.items()})
    return st.one_of(st.just(path_parameters), existing)


def _known_ids(world: World) -> dict[str, list[Any]]:
    ids = world.ids
    return {
        "item_id": [ids["offer"], ids["need"], ids["partner_offer"], ids["partner_need"],
                    ids["draft_offer"]],
        "table_id": [ids["table"]],
        "pairing_id": [ids["pairing"]],
        "activity_id": [ids["activity"]],
        "key_id": sorted(world.key_ids.values()),
        "iso3": [OWN, PARTNER, OTHER, "chl", "XXX"],
        "code": ["education", "migration", "unknown_factor"],
    }


def _run(world: World, label: str, caller: str, mode: GenerationMode) -> int:
    operation = OPERATIONS[label]
    checks = NEGATIVE_CHECKS if mode == GenerationMode.NEGATIVE else POSITIVE_CHECKS
    headers = world.headers(caller)
    sent = 0

    @settings(max_examples=EXAMPLES_PER_CASE, deadline=None, database=None,
              suppress_health_check=list(HealthCheck),
              phases=[Phase.explicit, Phase.generate, Phase.shrink])
    @hypothesis.seed(FUZZ_SEED)
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case: schemathesis.Case[Any]) -> None:
        nonlocal sent
        sent += 1
        response = case.call(app=world.app, headers=headers)
        STATUSES[f"{response.status_code // 100}xx"] += 1
        case.validate_response(response, checks=checks, headers=headers)

    try:
        fuzz()
    except hypothesis.errors.Unsatisfiable:
        # Operations without parameters or body have no invalid variant to generate.
        if mode != GenerationMode.NEGATIVE:
            raise
    return sent


@pytest.mark.parametrize(("label", "caller", "mode"), CASES,
                         ids=[f"{label}-{caller}-{mode.value}" for label, caller, mode in CASES])
def test_operation_fuzzed_answers_within_its_schema(module_world: World, label: str,
                                                    caller: str, mode: GenerationMode) -> None:
    KNOWN.clear()
    if mode == GenerationMode.POSITIVE:
        KNOWN.update(_known_ids(module_world))
    SENT.append(_run(module_world, label, caller, mode))


def test_fuzzing_sent_the_requested_number_of_requests() -> None:
    if len(SENT) < len(CASES):
        pytest.skip("only part of the fuzzing ran")
    classes = ", ".join(f"{k} {v}" for k, v in sorted(STATUSES.items()))
    print(f"fuzzing: {sum(SENT)} requests over {len(OPERATIONS)} operations ({classes}), "
          f"seed {FUZZ_SEED}")
    assert sum(SENT) >= FUZZ_EXAMPLES * 0.8


"""The fast execution paths (api/execution.py) answer exactly what graphql-core answers.

One small schema is built twice: with FastExecutionContext and its marks, and plainly. Every
query runs on both; data and errors (messages, paths, locations) must be equal, including where
the compiled plan has to give up (a null in a non-null field, a value a scalar refuses, a list
that is not one, an object of the wrong type) and where a document's directives depend on
variables.
"""

from __future__ import annotations

from decimal import Decimal
from enum import Enum
from typing import Any

import pytest
import strawberry
from strawberry import relay
from strawberry.schema.config import StrawberryConfig

from finora_gql.api import execution
from finora_gql.api.execution import FastExecutionContext, install_fast_paths


@strawberry.enum
class Colour(Enum):
    RED = "red"
    BLUE = "blue"


@strawberry.type
class Leaf(relay.Node):
    id: relay.NodeID[str]
    name: str
    colour: Colour
    amount: Decimal
    tags: list[str]
    maybe: str | None


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Person(Named):
    name: str
    age: int


@strawberry.type
class Thing:
    name: str
    leaf: Leaf
    optional_leaf: Leaf | None
    leaves: list[Leaf]
    grid: list[list[int]]
    named: Named

    @strawberry.field
    def shout(self) -> str:  # a resolver: its object is executed by graphql-core
        return self.name.upper()


def leaf(n: int, **overrides: Any) -> Leaf:
    values: dict[str, Any] = {"id": str(n), "name": f"leaf {n}", "colour": Colour.RED if n % 2 else Colour.BLUE,
                              "amount": Decimal(n) / 100, "tags": [f"t{n}", "x"], "maybe": None if n % 3 else "m"}
    values.update(overrides)
    return Leaf(**values)


def thing(n: int) -> Thing:
    return Thing(name=f"thing {n}", leaf=leaf(n), optional_leaf=leaf(n + 100) if n % 2 else None,
                 leaves=[leaf(n * 10 + i) for i in range(3)], grid=[[n, n + 1], []], named=Person(name="p", age=n))


def broken(kind: str) -> list[Thing]:
    things = [thing(1), thing(2)]
    target = things[1]
    if kind == "null-leaf":
        target.leaves[1].name = None  # type: ignore[assignment]
    elif kind == "null-object":
        target.leaf = None  # type: ignore[assignment]
    elif kind == "bad-scalar":
        target.grid[0][1] = "not a number"  # type: ignore[call-overload]
    elif kind == "not-a-list":
        target.leaves = "abc"  # type: ignore[assignment]
    elif kind == "wrong-type":
        target.leaf = Person(name="impostor", age=1)  # type: ignore[assignment]
    elif kind == "null-in-list":
        target.leaves[0] = None  # type: ignore[call-overload]
    return things


@strawberry.type
class Query:
    @strawberry.field
    def things(self, breakage: str | None = None) -> list[Thing]:
        return broken(breakage) if breakage else [thing(n) for n in range(1, 4)]


def schemas() -> tuple[strawberry.Schema, strawberry.Schema]:
    fast = strawberry.Schema(query=Query, types=[Person], execution_context_class=FastExecutionContext,
                             config=StrawberryConfig())
    install_fast_paths(fast._schema)
    plain = strawberry.Schema(query=Query, types=[Person])
    return fast, plain


FAST, PLAIN = schemas()

PAGE = """query($b: String) { things(breakage: $b) {
  __typename name
  alias: name
  leaf { id name colour amount tags maybe __typename }
  optionalLeaf { id name }
  leaves { id name tags }
  grid
  named { name ... on Person { age } }
  ...More
} }
fragment More on Thing { leaf { colour } leaves { maybe } }"""


async def both(query: str, variables: dict[str, Any] | None = None) -> tuple[Any, Any]:
    results = []
    for schema in (FAST, PLAIN):
        result = await schema.execute(query, variable_values=variables)
        results.append((result.data, sorted((e.message, tuple(e.path or ()), str(e.locations)) for e in result.errors or [])))
    return results[0], results[1]


@pytest.fixture
def plan_runs(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many objects the compiled plans completed."""
    runs: list[int] = []
    original = execution._run_plan

    def counting(plan: Any, source: Any) -> Any:
        runs.append(1)
        return original(plan, source)

    monkeypatch.setattr(execution, "_run_plan", counting)
    return runs


async def test_plain_selections_complete_through_the_plan_and_equal_graphql_core(plan_runs: list[int]) -> None:
    fast, plain = await both(PAGE)
    assert fast == plain
    assert fast[1] == [] and len(fast[0]["things"]) == 3
    assert plan_runs, "the compiled plan was not used"
    again, _ = await both(PAGE)  # the second request reuses the compiled plan
    assert again == fast


@pytest.mark.parametrize("breakage", ["null-leaf", "null-object", "bad-scalar", "not-a-list", "wrong-type", "null-in-list"])
async def test_what_the_plan_cannot_complete_graphql_core_reports_identically(breakage: str) -> None:
    fast, plain = await both(PAGE, {"b": breakage})
    assert fast == plain
    assert fast[1], "this breakage must produce an error"


async def test_directives_depending_on_variables_are_never_cached_into_a_plan(plan_runs: list[int]) -> None:
    query = """query($show: Boolean!) { things { name @include(if: $show) leaf { name @skip(if: $show) id } } }"""
    for show in (True, False, True):
        fast, plain = await both(query, {"show": show})
        assert fast == plain
        first = fast[0]["things"][0]
        assert ("name" in first) is show and ("name" in first["leaf"]) is (not show)
    assert not plan_runs


async def test_fields_with_resolvers_leave_their_object_to_graphql_core(plan_runs: list[int]) -> None:
    fast, plain = await both("{ things { shout leaf { name } } }")
    assert fast == plain
    assert fast[0]["things"][0] == {"shout": "THING 1", "leaf": {"name": "leaf 1"}}
    assert len(plan_runs) == 3  # each thing's leaf; the things themselves have a resolver field

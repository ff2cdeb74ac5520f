"""A cheaper path through graphql-core for the fields that are most of every response.

A page of 50 transactions with nested account and category completes ~800 fields, and most
of them are plain attributes (`date`, `amount`, `name`) or relay ids. For each one graphql-core
builds a resolve-info object, strawberry wraps the attribute read in three calls (and, for
`id`, builds a strawberry `Info`, converts arguments and runs an empty extension chain), and
`complete_value` walks the type wrappers again. Measured on the transactions page that was
about a third of the server's CPU.

`FastExecutionContext` resolves those fields directly:

- a field without resolver, extensions or arguments, whose type is a scalar or enum
  (nullable or not): the attribute, serialised by the field's own scalar or enum;
- the relay `id` of a type that keeps strawberry's own `resolve_id`/`resolve_typename`:
  `GlobalID(<GraphQL type name>, str(<NodeID attribute>))`, exactly what `Node._id` builds.

Subscription events shared by many subscribers (`shared_event`): every subscriber of a user's
channel receives the same pub/sub message; built through `shared_event`, they get the same
event object, and `FastExecutionContext` executes a given subscription document on that object
once, handing the others the same result. Only where that is exact: the document selects only
"pure" types (every field a plain attribute or relay id, as above, so nothing can depend on
who asks), it has no errors, and the variables are the same. Over graphql-transport-ws,
api/websocket.py goes further and writes such events' frames straight to the sockets.

Compiled completion (`FastExecutionContext.execute_fields`): below the resolvers that load data,
a response is mostly objects whose fields are plain attributes: a connection's edges, each
edge's cursor and node, the node's leaves and its preloaded account and category. For such a
selection set (every field a plain attribute or a FAST leaf, objects of concrete types, lists of
them, `__typename`) a plan is compiled once per document and type and run as a tight loop, with
no resolve info, paths or per-field completion calls. Documents with directives are left alone
(@skip/@include/@defer make the selection depend on variables). Anything the plan does not
handle exactly as graphql-core would (a null where the type forbids one, a value a scalar
refuses, an unexpected object type, a non-list for a list) abandons the plan for that object,
and graphql-core executes it, so errors, paths and null propagation are unchanged.

`CachedNameConverter` remembers strawberry's snake_case -> camelCase conversions: strawberry
converts every input object argument on every request and recomputed each field's name each
time (the transactions filter alone cost ~7% of the page's CPU).

Anything unusual (a null where the type forbids it, a value the scalar refuses, an exception,
a schema extension that hooks `resolve`, a field with arguments) falls back to graphql-core's
own `execute_field`, so errors, paths and masking are exactly as before.

Fenced, because it overrides graphql-core methods marked private: planning and running a plan
happen inside the fallback (an exception in either leaves the work to graphql-core), the
`EXECUTION_FAST_PATH=false` setting builds the schema without it, `STATS` counts its use (a
test fails when it is silently no longer used), and tests/api/test_execution_corpus.py runs
real operations of this schema with and without it and requires identical responses. The
upper bounds on strawberry-graphql and graphql-core in pyproject.toml are where that test
must be rerun.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from operator import attrgetter
from typing import Any, TypeVar

import orjson
from graphql import (
    ExecutionResult,
    FieldNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    OperationType,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
)
from graphql.execution.collect_fields import collect_subfields
from graphql.pyutils import Undefined
from strawberry import relay
from strawberry.schema.name_converter import NameConverter
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types.base import StrawberryObjectDefinition

log = logging.getLogger("finora.execution")

FAST = "finora.fast"
PLAIN = "finora.plain"  # on non-leaf fields that are a plain attribute read: the attribute getter
PURE = "finora.pure"  # on object types whose every field is FAST
_DEFINITION = GraphQLCoreConverter.DEFINITION_BACKREF
_NODE_ID = relay.Node.__dict__["resolve_id"].__func__
_NODE_TYPENAME = relay.Node.__dict__["resolve_typename"].__func__


def _leaf(field_type: Any) -> tuple[Any, bool] | None:
    """(the leaf type, non-null?) for `Scalar`, `Scalar!`, `Enum`, `Enum!`; None otherwise."""
    non_null = isinstance(field_type, GraphQLNonNull)
    inner = field_type.of_type if non_null else field_type
    return (inner, non_null) if is_leaf_type(inner) else None


def _node_id_getter(type_name: str, origin: type) -> Callable[[Any], Any] | None:
    if not (isinstance(origin, type) and issubclass(origin, relay.Node)):
        return None
    if origin.resolve_id.__func__ is not _NODE_ID or origin.resolve_typename.__func__ is not _NODE_TYPENAME:
        return None  # a type with its own id logic keeps it
    read = attrgetter(origin.resolve_id_attr())
    global_id = relay.GlobalID

    def node_id(source: Any) -> Any:
        if type(source) is not origin:
            raise TypeError  # not the plain case: let strawberry decide
        return global_id(type_name=type_name, node_id=str(read(source)))

    return node_id


def install_fast_paths(schema: GraphQLSchema) -> int:
    """Mark every field `FastExecutionContext` may resolve directly; returns how many."""
    count = 0
    for graphql_type in schema.type_map.values():
        if not isinstance(graphql_type, GraphQLObjectType) or graphql_type.name.startswith("__"):
            continue
        definition = graphql_type.extensions.get(_DEFINITION)
        if not isinstance(definition, StrawberryObjectDefinition):
            continue
        fast_fields = 0
        for field_def in graphql_type.fields.values():
            field = field_def.extensions.get(_DEFINITION)
            if field is None or field_def.args or field.extensions or getattr(field, "permission_classes", None):
                continue
            plain = field.base_resolver is None and field.default_resolver is getattr
            leaf = _leaf(field_def.type)
            if leaf is None:
                if plain and getattr(field_def.resolve, "_is_default", False):
                    field_def.extensions[PLAIN] = attrgetter(field.python_name)
                continue
            getter: Callable[[Any], Any] | None = None
            if plain:
                getter = attrgetter(field.python_name)
            elif field.python_name == "_id" and field.base_resolver.name == "_id":
                getter = _node_id_getter(graphql_type.name, definition.origin)
            if getter is not None:
                field_def.extensions[FAST] = (getter, *leaf)
                fast_fields += 1
        graphql_type.extensions[PURE] = fast_fields == len(graphql_type.fields)
        count += fast_fields
    return count


# --- compiled completion of plain selection sets ------------------------------------------------


class _Abandon(Exception):
    """The plan met something graphql-core must handle; it executes the object instead."""


# A plan: one (response key, read the value from the source, non-null?, complete the value) per
# field; `complete` is None when the value is final as read (`__typename`).
Complete = Callable[[Any], Any]
Plan = tuple[tuple[str, Callable[[Any], Any], bool, Complete | None], ...]
PLANS = 1024  # compiled selection sets remembered (documents are cached by strawberry, so few)


class Bounded(OrderedDict):
    """A dict that forgets its oldest entries beyond `limit`: memos of per-document work."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        if len(self) > self.limit:
            self.popitem(last=False)


_plans: Bounded = Bounded(PLANS)  # key -> (the nodes it was made from, kept alive; the plan)
_plain_documents: Bounded = Bounded(PLANS)  # id(operation) -> (the operation, kept alive; plain?)


def _run_plan(plan: Plan, source: Any) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key, read, non_null, complete in plan:
        value = read(source)
        if value is None:
            if non_null:
                raise _Abandon
            data[key] = None
        else:
            data[key] = value if complete is None else complete(value)
    return data


def _complete_leaf(leaf_type: Any) -> Complete:
    coerce = leaf_type.coerce_output_value

    def complete(value: Any) -> Any:
        coerced = coerce(value)
        if coerced is None or coerced is Undefined:
            raise _Abandon
        return coerced

    return complete


def _complete_object(object_type: GraphQLObjectType, plan: Plan) -> Complete:
    is_type_of = object_type.is_type_of

    def complete(value: Any) -> dict[str, Any]:
        if is_type_of is not None and is_type_of(value, None) is not True:
            raise _Abandon
        return _run_plan(plan, value)

    return complete


def _complete_list(item_complete: Complete, item_non_null: bool) -> Complete:
    def complete(value: Any) -> list[Any]:
        if type(value) is not list and type(value) is not tuple:
            raise _Abandon  # other iterables: graphql-core's rules
        items = []
        for item in value:
            if item is None:
                if item_non_null:
                    raise _Abandon
                items.append(None)
            else:
                items.append(item_complete(item))
        return items

    return complete


def _has_directives(selection_set: SelectionSetNode | None) -> bool:
    if selection_set is None:
        return False
    return any(
        selection.directives or _has_directives(getattr(selection, "selection_set", None))
        for selection in selection_set.selections
    )


# --- subscription events shared by many subscribers ---------------------------------------------

E = TypeVar("E")
SHARED_EVENTS = 256  # recent events remembered; a subscriber further behind executes on its own


class _Shared:
    __slots__ = ("event", "message", "results")

    def __init__(self, message: object, event: object) -> None:
        self.message = message  # kept alive, so the ids below stay theirs
        self.event = event
        # (id(operation), variables) -> (operation, data)
        self.results: dict[tuple[int, bytes], tuple[object, dict[str, Any]]] = {}


_by_message: OrderedDict[int, _Shared] = OrderedDict()
_by_event: dict[int, _Shared] = {}


def shared_event(message: object, build: Callable[[Any], E]) -> E:
    """The event object for a pub/sub message, built once for all the subscribers that receive
    this very message (a channel's subscribers do), so their selections can execute once.

    Use only for events whose GraphQL type is the same for everyone who gets the message."""
    shared = _by_message.get(id(message))
    if shared is not None and shared.message is message:
        return shared.event  # type: ignore[return-value]
    event = build(message)
    shared = _by_message[id(message)] = _Shared(message, event)
    _by_event[id(event)] = shared
    while len(_by_message) > SHARED_EVENTS:
        _, old = _by_message.popitem(last=False)
        _by_event.pop(id(old.event), None)
    return event


class FastPathStats:
    """How often the fast paths ran, process-wide: a test fails when they silently stop being used
    (a graphql-core or strawberry upgrade that leaves every field to the fallback)."""

    __slots__ = ("abandoned", "fields", "planning_failed", "plans")

    def __init__(self) -> None:
        self.plans = 0  # selection sets completed by a compiled plan
        self.abandoned = 0  # plans given up on an object (a null, a refused value): graphql-core did it
        self.planning_failed = 0  # plans that could not be made (an exception): graphql-core did it
        self.fields = 0  # leaf fields resolved directly by execute_field

    def snapshot(self) -> dict[str, int]:
        return {name: getattr(self, name) for name in self.__slots__}


STATS = FastPathStats()


class FastExecutionContext(StrawberryGraphQLCoreExecutionContext):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # id(grouped field set) -> (it, its plan): graphql-core reuses one grouped set for
        # every item of a list, so a list's items look their plan up once per request here.
        self._request_plans: dict[int, tuple[Mapping, Plan | None]] = {}

    def execute_fields(self, parent_type, source_value, path, grouped_field_set, position_context):  # type: ignore[no-untyped-def]
        if position_context is None:
            plan = self._request_plan(parent_type, grouped_field_set)
            if plan is not None:
                try:
                    data = _run_plan(plan, source_value)
                except Exception:  # noqa: BLE001 - graphql-core redoes it and reports what went wrong
                    STATS.abandoned += 1
                else:
                    STATS.plans += 1
                    return data
        return super().execute_fields(parent_type, source_value, path, grouped_field_set, position_context)

    def _request_plan(self, parent_type: GraphQLObjectType, grouped_field_set: Mapping) -> Plan | None:
        """The plan of this selection set for this request, or None. Planning reads graphql-core's
        internals (collected fields, private helpers): should any of it fail, as after an upgrade
        that changed them, the selection set is executed by graphql-core, never the query failed."""
        known = self._request_plans.get(id(grouped_field_set))
        if known is not None and known[0] is grouped_field_set:
            return known[1]
        try:
            plan = self._plan(parent_type, grouped_field_set)
        except Exception:  # noqa: BLE001 - see the docstring
            STATS.planning_failed += 1
            if STATS.planning_failed == 1:
                log.warning("execution fast path: planning failed, graphql-core executes instead", exc_info=True)
            plan = None
        self._request_plans[id(grouped_field_set)] = (grouped_field_set, plan)
        return plan

    def _plan(self, parent_type: GraphQLObjectType, grouped_field_set: Mapping) -> Plan | None:
        """The compiled plan of this selection set, or None where graphql-core must execute it."""
        if self._hooks_resolve() or not self._plain_document():
            return None
        nodes = tuple(details.node for field_details in grouped_field_set.values() for details in field_details)
        key = (parent_type, tuple(grouped_field_set), tuple(map(id, nodes)))
        cached = _plans.get(key)
        if cached is not None:
            _plans.move_to_end(key)
            return cached[1]
        plan = self._compile(parent_type, grouped_field_set)
        _plans[key] = (nodes, plan)  # holding the nodes keeps their ids from being reused
        return plan

    def _plain_document(self) -> bool:
        """No directives anywhere in the operation's selections or fragments: which fields are
        collected then depends on the document alone, never on variables."""
        operation = self.operation
        known = _plain_documents.get(id(operation))
        if known is not None and known[0] is operation:
            return known[1]
        plain = not _has_directives(operation.selection_set) and not any(
            fragment.definition.directives or fragment.definition.variable_definitions
            or _has_directives(fragment.definition.selection_set)
            for fragment in self.fragments.values()
        )
        _plain_documents[id(operation)] = (operation, plain)
        return plain

    def _compile(self, parent_type: GraphQLObjectType, grouped_field_set: Mapping) -> Plan | None:
        plan = []
        for key, field_details in grouped_field_set.items():
            details = field_details[0]
            node = details.node
            if node.arguments or details.fragment_variable_values or details.defer_usage is not None:
                return None
            name = node.name.value
            if name == "__typename":
                type_name = parent_type.name
                plan.append((key, lambda _source, type_name=type_name: type_name, True, None))
                continue
            field_def = parent_type.fields.get(name)
            if field_def is None:
                return None
            fast = field_def.extensions.get(FAST)
            if fast is not None:
                getter, leaf_type, non_null = fast
                plan.append((key, getter, non_null, _complete_leaf(leaf_type)))
                continue
            getter = field_def.extensions.get(PLAIN)
            completion = self._completion(field_def.type, field_details) if getter is not None else None
            if completion is None:
                return None
            non_null, complete = completion
            plan.append((key, getter, non_null, complete))
        return tuple(plan)

    def _completion(self, field_type: Any, field_details: Any) -> tuple[bool, Complete] | None:
        """(non-null?, how to complete a non-null value) of a plain field's type, or None."""
        non_null = isinstance(field_type, GraphQLNonNull)
        inner = field_type.of_type if non_null else field_type
        if is_leaf_type(inner):
            return non_null, _complete_leaf(inner)
        if isinstance(inner, GraphQLList):
            item = self._completion(inner.of_type, field_details)
            return None if item is None else (non_null, _complete_list(item[1], item[0]))
        if isinstance(inner, GraphQLObjectType):  # interfaces and unions: graphql-core resolves the type
            collected = collect_subfields(self.schema, self.fragments, self.variable_values, self.operation, inner,
                                          field_details, self.hide_suggestions)
            if collected.new_defer_usages:
                return None
            plan = self._plan(inner, collected.grouped_field_set)
            return None if plan is None else (non_null, _complete_object(inner, plan))
        return None

    def execute_field(self, parent_type, source, field_details_list, path, position_context):  # type: ignore[no-untyped-def]
        node = field_details_list[0].node
        field_def = parent_type.fields.get(node.name.value)
        fast = field_def.extensions.get(FAST) if field_def is not None else None
        if fast is None or node.arguments or len(field_details_list) != 1 or self._hooks_resolve():
            return super().execute_field(parent_type, source, field_details_list, path, position_context)
        getter, leaf_type, non_null = fast
        try:
            value = getter(source)
            if value is None:
                if non_null:
                    raise TypeError  # graphql-core raises the proper error below
                return None
            coerced = leaf_type.coerce_output_value(value)
            if coerced is None or coerced is Undefined:
                raise TypeError
        except Exception:
            return super().execute_field(parent_type, source, field_details_list, path, position_context)
        STATS.fields += 1
        return coerced

    def execute_operation(self, serially: bool | None = None):  # type: ignore[no-untyped-def]
        try:
            shared = _by_event.get(id(self.root_value)) if self.operation.operation is OperationType.SUBSCRIPTION else None
            if shared is not None and (shared.event is not self.root_value or self._hooks_resolve()
                                       or not self.selects_pure()):
                shared = None
            if shared is not None:
                key = (id(self.operation), orjson.dumps(self.variable_values.coerced, option=orjson.OPT_SORT_KEYS))
        except Exception:  # noqa: BLE001 - not shareable (or graphql-core changed): executed on its own
            shared = None
        if shared is None:
            return super().execute_operation(serially)
        hit = shared.results.get(key)
        if hit is not None and hit[0] is self.operation:
            return ExecutionResult(hit[1], None)
        result = super().execute_operation(serially)
        if isinstance(result, ExecutionResult) and not result.errors and result.data is not None:
            shared.results[key] = (self.operation, result.data)
        return result

    def selects_pure(self) -> bool:
        """Whether every root field of this subscription returns a pure type (see install_fast_paths)."""
        root = self.schema.subscription_type
        if root is None:
            return False
        for selection in self.operation.selection_set.selections:
            if not isinstance(selection, FieldNode) or selection.directives:
                return False
            if selection.name.value == "__typename":
                continue
            field_def = root.fields.get(selection.name.value)
            named = get_named_type(field_def.type) if field_def is not None else None
            if not (isinstance(named, GraphQLObjectType) and named.extensions.get(PURE)):
                return False
        return True

    def _hooks_resolve(self) -> bool:
        manager = self.middleware_manager
        if manager is None:
            return False
        # A private attribute: if graphql-core renames it, assume hooks, and the fast paths step aside.
        return bool(getattr(manager, "_middleware_resolvers", True))


class CachedNameConverter(NameConverter):
    """strawberry's NameConverter with the (pure) name conversion remembered."""

    def __init__(self, auto_camel_case: bool = True) -> None:
        super().__init__(auto_camel_case)
        self._converted: dict[tuple[bool, str], str] = {}

    def apply_naming_config(self, name: str) -> str:
        key = (self.auto_camel_case, name)
        converted = self._converted.get(key)
        if converted is None:
            converted = self._converted[key] = super().apply_naming_config(name)
        return converted

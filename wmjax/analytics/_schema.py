"""The data contracts as JSON Schemas shipped in the package, and a small validator for them.

The validator covers the part of JSON Schema (draft 2020-12) the contracts use: type, const,
enum, required, properties, additionalProperties (boolean), items, minItems, uniqueItems,
minLength, maxLength, minimum, maximum, exclusiveMinimum, exclusiveMaximum, format date-time
and local `$ref` ("#/$defs/..."). Numbers must be finite and booleans are not numbers. Errors
are `InputError`s that name the contract and the field's path (e.g. `state.spread_bps`).
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from functools import cache
from importlib import resources

from wmjax._checks import InputError

CONTRACTS = (
    "microstructure_state_v1",
    "execution_advice_v1",
    "tca_divergence_v1",
    "execution_limits_v1",
)


@cache
def load_schema(name: str) -> dict:
    """The JSON Schema of contract `name` (one of `CONTRACTS`), read from the package."""
    if name not in CONTRACTS:
        raise InputError(f"unknown contract {name!r}; known: {CONTRACTS}")
    text = resources.files("wmjax.analytics").joinpath(f"schemas/{name}.json").read_text()
    return json.loads(text)


def parse_timestamp(text: str, where: str) -> datetime:
    """An ISO 8601 date-time with a time zone ("2026-11-22T01:02:03.5Z"), else InputError."""
    try:
        ts = datetime.fromisoformat(str(text))
    except ValueError as err:
        raise InputError(f"{where}: {text!r} is not an ISO 8601 date-time") from err
    if ts.tzinfo is None:
        raise InputError(f"{where}: {text!r} has no time zone (add Z or +00:00)")
    return ts


_TYPES = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
}


def _check(value, schema: dict, path: str, root: dict) -> None:
    if "$ref" in schema:
        ref = schema["$ref"]
        node = root
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        _check(value, node, path, root)
        return
    if "type" in schema:
        kinds = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_TYPES[k](value) for k in kinds):
            raise InputError(f"{path} must be of type {' or '.join(kinds)}, got {value!r}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InputError(f"{path} must be finite, got {value!r}")
    if "const" in schema and value != schema["const"]:
        raise InputError(f"{path} must be {schema['const']!r}, got {value!r}")
    if "enum" in schema and value not in schema["enum"]:
        raise InputError(f"{path} must be one of {schema['enum']}, got {value!r}")
    if _TYPES["number"](value):
        for key, ok, word in (
            ("minimum", lambda v, b: v >= b, ">="),
            ("maximum", lambda v, b: v <= b, "<="),
            ("exclusiveMinimum", lambda v, b: v > b, ">"),
            ("exclusiveMaximum", lambda v, b: v < b, "<"),
        ):
            if key in schema and not ok(value, schema[key]):
                raise InputError(f"{path} must be {word} {schema[key]}, got {value!r}")
    if isinstance(value, str):
        if len(value) < schema.get("minLength", 0):
            raise InputError(f"{path} must have at least {schema['minLength']} character(s)")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            raise InputError(f"{path} must have at most {schema['maxLength']} characters")
        if schema.get("format") == "date-time":
            parse_timestamp(value, path)
    if isinstance(value, list):
        if len(value) < schema.get("minItems", 0):
            raise InputError(f"{path} must have at least {schema['minItems']} item(s)")
        if schema.get("uniqueItems") and len({json.dumps(v) for v in value}) != len(value):
            raise InputError(f"{path} must not repeat items, got {value!r}")
        for i, item in enumerate(value):
            if "items" in schema:
                _check(item, schema["items"], f"{path}[{i}]", root)
    if isinstance(value, dict):
        for key in schema.get("required", []):
            if key not in value:
                raise InputError(f"{path}.{key} is required but missing")
        props = schema.get("properties", {})
        if schema.get("additionalProperties", True) is False:
            extra = sorted(set(value) - set(props))
            if extra:
                raise InputError(f"{path}.{extra[0]} is not a field of this contract")
        for key, sub in props.items():
            if key in value:
                _check(value[key], sub, f"{path}.{key}", root)


def validate(instance, contract: str, name: str | None = None):
    """Check `instance` against contract `contract`; raise InputError naming the field's path
    (rooted at `name`, default the contract's name). Returns `instance`."""
    schema = load_schema(contract)
    _check(instance, schema, name or contract, schema)
    return instance

"""Model rows read and written with plain SQL, for the till's hot path (issue 3).

Building a statement through the ORM costs far more CPU than the database spends running it
(a card read with its account, level and latest offer took ~2.5 ms of server CPU to compile,
a purchase INSERT ~0.6 ms; the database needs ~0.1 ms for each). These helpers keep what the
ORM guarantees — every concrete field, the backend's value adaptation on the way in and its
converters on the way out, instances built by `Model.from_db` — and cache the SQL text, so
the statements stay right when a field is added and work on SQLite and PostgreSQL alike.
They send no signals (like `bulk_create`); nothing in the loyalty app listens to the models
written here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Field, Model

Converter = Callable[[Any, Any, Any], Any]


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


@cache
def _fields(model: type[Model]) -> tuple[Field[Any, Any], ...]:
    return tuple(model._meta.concrete_fields)


def columns(model: type[Model], alias: str) -> str:
    """The select list of every concrete field of `model` in the table aliased `alias`."""
    return ", ".join(f"{alias}.{quote(field.column)}" for field in _fields(model))


def width(model: type[Model]) -> int:
    """How many values `columns` selects."""
    return len(_fields(model))


@cache
def _converters(
    model: type[Model], vendor: str, field_name: str | None = None
) -> tuple[tuple[int, tuple[Converter, ...], Any], ...]:
    """(index, converters, expression) of the columns that need converting on this backend,
    as the ORM's compiler would apply them (PostgreSQL needs none for the till's models)."""
    fields = _fields(model) if field_name is None else (model._meta.get_field(field_name),)
    found = []
    for index, field in enumerate(fields):
        expression = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(expression)
        converters += expression.get_db_converters(connection)
        if converters:
            found.append((index, tuple(converters), expression))
    return tuple(found)


def convert_value(model: type[Model], field_name: str, value: Any) -> Any:
    """One selected value of `model.field_name` as the ORM would return it."""
    for _, converters, expression in _converters(model, connection.vendor, field_name):
        for converter in converters:
            value = converter(value, expression, connection)
    return value


def instance(model: type[Model], values: Sequence[Any]) -> Model:
    """A model instance from the values `columns(model, …)` selected (as loaded from the db)."""
    converters = _converters(model, connection.vendor)
    if converters:
        values = list(values)
        for index, functions, expression in converters:
            value = values[index]
            for function in functions:
                value = function(value, expression, connection)
            values[index] = value
    return model.from_db(connection.alias, None, values)


@cache
def insert_fields(model: type[Model]) -> tuple[Field[Any, Any], ...]:
    """The fields an INSERT of `model` writes: every concrete one but the primary key."""
    return tuple(field for field in _fields(model) if not field.primary_key)


#: Fields whose attribute value PostgreSQL takes as it is (psycopg adapts the Python type).
_AS_IS_ON_POSTGRESQL = frozenset(
    {
        "BigIntegerField",
        "BooleanField",
        "CharField",
        "DateField",
        "DateTimeField",
        "ForeignKey",
        "IntegerField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
        "TextField",
    }
)


@cache
def _preparers(model: type[Model], vendor: str) -> tuple[Callable[[Model], Any], ...]:
    """Per insert field, how its value is adapted for this backend. On PostgreSQL a plain
    column's value goes as it is and a JSON one is wrapped (what `get_db_prep_save` comes
    to there, at a fraction of its cost); anything else, and every other backend, takes
    the ORM's own route."""

    def orm(field: Field[Any, Any]) -> Callable[[Model], Any]:
        return lambda obj: field.get_db_prep_save(field.pre_save(obj, True), connection)

    def as_is(field: Field[Any, Any]) -> Callable[[Model], Any]:
        attname = field.attname
        return lambda obj: getattr(obj, attname)

    def as_json(field: Field[Any, Any]) -> Callable[[Model], Any]:
        attname, encoder = field.attname, getattr(field, "encoder", None)
        return lambda obj: connection.ops.adapt_json_value(getattr(obj, attname), encoder)

    found = []
    for field in insert_fields(model):
        kind = field.get_internal_type()
        automatic = getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        if vendor != "postgresql" or automatic:
            found.append(orm(field))
        elif kind in _AS_IS_ON_POSTGRESQL:
            found.append(as_is(field))
        elif kind == "JSONField":
            found.append(as_json(field))
        else:
            found.append(orm(field))
    return tuple(found)


def insert_params(obj: Model) -> list[Any]:
    """The values of `insert_fields` for a new object, adapted as the ORM's INSERT would."""
    return [prepare(obj) for prepare in _preparers(type(obj), connection.vendor)]


@cache
def _insert_sql(model: type[Model], rows: int, vendor: str) -> str:
    fields = insert_fields(model)
    names = ", ".join(quote(field.column) for field in fields)
    table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
    if vendor == "postgresql" and rows > 1:
        # One array per column: a short statement whatever the rows (psycopg parses a long
        # one's placeholders again on every call: ~10 µs a value), in the arrays' order.
        arrays = ", ".join(f"%s::{field.cast_db_type(connection)}[]" for field in fields)
        return f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) RETURNING {pk}"  # noqa: S608
    marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return f"INSERT INTO {table} ({names}) VALUES {', '.join([marks] * rows)} RETURNING {pk}"  # noqa: S608


def insert(objs: Sequence[Model]) -> None:
    """INSERT the (new, same-model) objects in one statement and set their primary keys."""
    if not objs:
        return
    model = type(objs[0])
    sql = _insert_sql(model, len(objs), connection.vendor)
    rows = [insert_params(obj) for obj in objs]
    if connection.vendor == "postgresql" and len(objs) > 1:
        params: list[Any] = [list(column) for column in zip(*rows, strict=True)]
    else:
        params = [value for row in rows for value in row]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        keys = cursor.fetchall()
    pk_name = model._meta.pk.attname
    for obj, (key,) in zip(objs, keys, strict=True):
        setattr(obj, pk_name, key)
        obj._state.adding = False
        obj._state.db = connection.alias

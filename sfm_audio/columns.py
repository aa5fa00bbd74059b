"""The columns of a feature table: their names and types, and the union of several files'.

A table is ``file``, ``channel`` and the numeric columns listed by a schema (a list of
:class:`Column`). Files at different sampling rates, or with a frequency range clipped at
different Nyquist frequencies, have different band columns; :func:`union_schema` gives the
columns of a table that holds them all, in frequency order.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from ._errors import ParameterError

__all__ = ["Column", "Kind", "frame_schema", "union_schema"]

#: int64 (``frame``, ``frames``), float64 seconds (``time_s``), float32 feature values
Kind = Literal["int", "time", "value"]


@dataclass(frozen=True)
class Column:
    """One numeric column of a table."""

    name: str
    kind: Kind


def frame_schema(value_columns: Sequence[str]) -> list[Column]:
    """Numeric columns of the frame table after ``file`` and ``channel``."""
    return [Column("frame", "int"), Column("time_s", "time")] + [
        Column(name, "value") for name in value_columns
    ]


def _natural_key(name: str) -> tuple:
    """``sfm_band_62_88`` before ``sfm_band_125_149``: digit runs compare as numbers."""
    return tuple((1, int(part), "") if part.isdigit() else (0, 0, part)
                 for part in re.split(r"(\d+)", name) if part)


def union_schema(schemas: Sequence[Sequence[Column]]) -> list[Column]:
    """The columns of a table holding files with the given columns.

    Every column of every schema, once, in an order that keeps the order of each schema;
    columns that no schema orders against each other (the top bands of a 48 kHz file beside
    a 16 kHz file's) go in natural order of their names, which for band columns is frequency
    order.

    Raises
    ------
    ParameterError
        A column has different types in two schemas.
    """
    kind: dict[str, str] = {}
    first: dict[str, int] = {}
    after: dict[str, set[str]] = {}
    waiting: dict[str, int] = {}
    for schema in schemas:
        for column in schema:
            if kind.setdefault(column.name, column.kind) != column.kind:
                raise ParameterError(f"column {column.name!r} is {kind[column.name]} in one "
                                     f"file and {column.kind} in another")
            if column.name not in first:
                first[column.name] = len(first)
                after[column.name], waiting[column.name] = set(), 0
        for a, b in zip(schema, schema[1:]):
            if b.name not in after[a.name]:
                after[a.name].add(b.name)
                waiting[b.name] += 1
    ready = [(_natural_key(n), n) for n, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    out: list[Column] = []
    while len(out) < len(first):
        if ready:
            name = heapq.heappop(ready)[1]
        else:  # schemas that disagree on an order: the column seen first goes first
            name = min((n for n in waiting if waiting[n] > 0), key=first.__getitem__)
        waiting[name] = -1
        out.append(Column(name, kind[name]))  # type: ignore[arg-type]
        for b in after[name]:
            if waiting[b] > 0:
                waiting[b] -= 1
                if waiting[b] == 0:
                    heapq.heappush(ready, (_natural_key(b), b))
    return out

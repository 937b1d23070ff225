"""A trades frame packed for the trip from a Dask worker back to the process that asked.

A book's trades are a few columns of numbers beside many of text: a reason per trade, the
household and account it belongs to. Pickled as they are, the text columns are most of the
bytes and nearly all of the time: each string is written, sent and built again one by one
(200,000 accounts: 190 MB and 2.8 s of the workers' CPU to pickle, 0.7 s here to unpickle).
Few of those strings differ (the reasons of 870,000 trades are 18,000 texts), so a text column
travels as an array of codes and its distinct values once; numbers travel as they are.

`unpack(pack(frame))` equals `frame`: the same columns, types, index and values, None and NaN
where they were. A column is coded only when its distinct values are all `str`; any other object
column (a sale's lots, a deferral that may be None) is left to pickle. A `str` subclass (an enum,
NumPy's `str_`) equal to a plain string met before it comes back as that string: the planner
writes plain strings only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Coded:
    """A text column as codes into its distinct values (first-seen order)."""

    codes: np.ndarray  # int32 (int64 past two billion distinct texts)
    uniques: np.ndarray  # object: each distinct str once


@dataclass(frozen=True)
class PackedFrame:
    """A frame's columns in order, each either as it was or `Coded`."""

    columns: list[tuple[str, pd.Series | Coded]]
    index: pd.Index


def _coded(values: np.ndarray) -> Coded | None:
    """The column as codes, or None unless every value is a `str` (factorize takes None and
    NaN as missing, code -1, and equal values as one: the distinct values' types decide)."""
    if not len(values) or type(values[0]) is not str:
        return None
    codes, uniques = pd.factorize(values)
    if (codes < 0).any() or any(type(u) is not str for u in uniques.tolist()):
        return None
    small = np.int32 if len(uniques) < 2**31 else np.int64
    return Coded(codes.astype(small, copy=False), np.asarray(uniques, dtype=object))


def pack(frame: pd.DataFrame) -> PackedFrame:
    """Text columns of objects as codes and distinct values; every other column as it is."""
    columns: list[tuple[str, pd.Series | Coded]] = []
    for name in frame.columns:
        col = frame[name]
        coded = _coded(col.to_numpy()) if col.dtype == object else None
        columns.append((name, col if coded is None else coded))
    return PackedFrame(columns, frame.index)


def unpack(packed: PackedFrame) -> pd.DataFrame:
    """The frame `pack` was given."""
    data = {name: _series(col, packed.index) for name, col in packed.columns}
    return pd.DataFrame(data, index=packed.index)


def concat(parts: Sequence[PackedFrame]) -> pd.DataFrame:
    """`pd.concat` of the unpacked frames, index renumbered, without unpacking each first.

    A text column coded in every part that has rows is joined as codes and built once, so its
    strings are not copied twice (an empty part's text column is never coded: a partition that
    plans nothing must not send the others' text the slow way)."""
    if not parts:
        return pd.DataFrame()
    names = [name for name, _ in parts[0].columns]
    for p in parts:
        if [name for name, _ in p.columns] != names:
            raise ValueError(f"parts differ in columns: {names} and {[n for n, _ in p.columns]}")
    index = pd.RangeIndex(sum(len(p.index) for p in parts))
    data: dict[str, pd.Series] = {}
    for j, name in enumerate(names):
        pieces = [p.columns[j][1] for p in parts]
        filled = [c for c, p in zip(pieces, parts, strict=True) if len(p.index)]
        coded = [c for c in filled if isinstance(c, Coded)]
        if coded and len(coded) == len(filled):
            offsets = np.cumsum([0] + [len(c.uniques) for c in coded[:-1]])
            shifted = [c.codes.astype(np.int64) + o for c, o in zip(coded, offsets, strict=True)]
            codes = np.concatenate(shifted)
            uniques = np.concatenate([c.uniques for c in coded])
            data[name] = pd.Series(uniques.take(codes), index=index, dtype=object, copy=False)
        else:
            series = [_series(c, p.index) for c, p in zip(pieces, parts, strict=True)]
            data[name] = pd.concat(series, ignore_index=True)
    return pd.DataFrame(data, index=index)


def _series(col: pd.Series | Coded, index: pd.Index) -> pd.Series:
    if isinstance(col, Coded):
        return pd.Series(col.uniques.take(col.codes), index=index, dtype=object, copy=False)
    return col


__all__ = ["Coded", "PackedFrame", "concat", "pack", "unpack"]

"""Feature tables out: CSV, JSON Lines, NPZ and Parquet, streamed with bounded memory.

A table is ``file``, ``channel`` and numeric columns. Rows arrive in blocks and are written
as they come; NPZ columns are spooled to temporary files and zipped at the end, so memory
never holds a whole long file. Every writer produces the same bytes for the same rows.

Types: ``file`` and ``channel`` are strings (``channel`` is ``"mix"`` or the channel index);
integer columns (``frame``, ``frames``) are int64; ``time_s`` and ``duration_s`` are float64
(six decimals in text); feature columns are float32 in NPZ/Parquet and 7 significant digits
in text (float32 precision). A missing value (NaN) is NaN in NPZ and Parquet, an empty field
in CSV and ``null`` in JSON Lines.

A table of several files has the union of their columns
(:func:`sfm_audio.columns.union_schema`); a writer opened with ``row_schema`` takes one file's
rows in that file's columns and leaves the others empty.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np

from . import numtext
from ._errors import ParameterError
from .columns import Column, frame_schema

__all__ = [
    "Column",  # defined in sfm_audio.columns, imported here too: the writers' schemas
    "frame_schema",
    "format_of",
    "open_writer",
    "concatenate_parts",
    "open_join",
    "FORMATS",
]

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".npz": "npz", ".parquet": "parquet"}
_TEXT_FORMAT = {"int": "%d", "time": "%.6f", "value": "%.7g"}
_NUMPY_DTYPE = {"int": np.int64, "time": np.float64, "value": np.float32}
_CHANNEL_DTYPE = np.dtype("<U8")


#: formats a table can take on standard output (rows streamed; no whole-table format)
STDOUT_FORMATS = ("csv", "jsonl")


def format_of(output: str | os.PathLike, *, stdout: str = "csv") -> str:
    """Output format from the file name: csv, jsonl, npz or parquet; ``-`` (standard output)
    is ``stdout``, CSV or JSON Lines."""
    if str(output) == "-":
        if stdout not in STDOUT_FORMATS:
            raise ParameterError(f"standard output takes {' or '.join(STDOUT_FORMATS)}, "
                                 f"not {stdout!r}", param="stdout_format")
        return stdout
    suffix = Path(output).suffix.lower()
    if suffix not in FORMATS:
        raise ParameterError(
            f"unknown output extension {suffix or '(none)'!r} for {str(output)!r}; "
            f"use one of {', '.join(sorted(FORMATS))} or - for CSV on standard output"
        )
    fmt = FORMATS[suffix]
    if fmt == "parquet":
        _require_pyarrow()
    return fmt


def _require_pyarrow():
    try:
        import pyarrow
        import pyarrow.parquet
    except ImportError:
        raise ParameterError(
            "Parquet output needs pyarrow: pip install 'sfm-audio[parquet]'"
        ) from None
    return pyarrow


def _csv_field(text: str) -> str:
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


class _TextWriter:
    """CSV and JSON Lines, a block of rows at a time.

    Numbers are formatted by :mod:`sfm_audio.numtext`, the bytes of ``%`` a whole block at
    once; the block falls back to ``%`` itself, one row format applied to every row, where
    ``numtext`` cannot write a text (a file name that is not UTF-8, a time beyond 10
    integer digits). A NaN is written as an empty CSV field or a JSON ``null`` (so is JSON's
    inf: it has none).
    """

    def __init__(self, fh: IO[str], schema: list[Column], fmt: str, *, header: bool):
        self.fh, self.schema, self.fmt = fh, schema, fmt
        self._formats: dict[tuple, str] = {}
        # the columns in runs of one kind, each run formatted at once
        self._runs = [(kind, [i for i, _ in group]) for kind, group in itertools.groupby(
            enumerate(schema), key=lambda item: item[1].kind)]
        # JSON Lines: the text before each column's value, made once
        self._keys = [f", {json.dumps(c.name)}: ".encode() for c in schema]
        if fmt == "csv" and header:
            fh.write(",".join(["file", "channel"] + [c.name for c in schema]) + "\n")

    def write(self, file: str, channel: Sequence[str], numeric: np.ndarray) -> None:
        if numeric.shape[0] == 0:
            return
        # JSON has no -inf (a silent file's peak_dbfs): null, as for NaN
        gaps = np.isnan(numeric) if self.fmt == "csv" else ~np.isfinite(numeric)
        text = self._texts(file, channel, numeric, gaps)
        if text is None:
            text = self._percent(file, channel, numeric, gaps)
        self.fh.write(text)

    def _texts(self, file: str, channel: Sequence[str], numeric: np.ndarray,
               gaps: np.ndarray) -> str | None:
        n = numeric.shape[0]
        csv = self.fmt == "csv"
        labels = numtext.text_slots(channel)
        try:
            name = (_csv_field(file) if csv else json.dumps(file)).encode("utf-8")
        except UnicodeEncodeError:
            return None
        if labels is None or b"\0" in name:
            return None
        blank = b"" if csv else b"null"
        pieces: list = [name + b"," if csv else b'{"file": ' + name + b', "channel": "',
                        (labels, b"")]
        if not csv:
            pieces.append(b'"')
        for kind, columns in self._runs:
            texts = numtext.format_numbers(numeric[:, columns], _TEXT_FORMAT[kind],
                                           blank=gaps[:, columns], blank_text=blank)
            if texts is None:
                return None
            if csv:
                pieces += [b",", (texts, b",")]
                continue
            for j, c in enumerate(columns):
                pieces += [self._keys[c], (texts[:, :, j], b"")]
        pieces.append(b"\n" if csv else b"}\n")
        return numtext.join_rows(pieces, n).decode("utf-8")

    def _row_format(self, file: str, empty: tuple[bool, ...]) -> str:
        key = (file, empty)
        if key not in self._formats:
            missing = "" if self.fmt == "csv" else "null"
            numbers = [missing if gap else _TEXT_FORMAT[c.kind]
                       for c, gap in zip(self.schema, empty)]
            if self.fmt == "csv":
                row = ",".join([_csv_field(file).replace("%", "%%"), "%s"] + numbers) + "\n"
            else:
                fields = [f'"file": {json.dumps(file)}'.replace("%", "%%"), '"channel": "%s"']
                fields += [f"{json.dumps(c.name)}: {n}" for c, n in zip(self.schema, numbers)]
                row = "{" + ", ".join(fields) + "}\n"
            if len(self._formats) > 64:
                self._formats.clear()
            self._formats[key] = row
        return self._formats[key]

    def _percent(self, file: str, channel: Sequence[str], numeric: np.ndarray,
                 gaps: np.ndarray) -> str:
        """The rows by ``%``: one row format for the block, or row by row where some rows
        have gaps the others have not."""
        n = numeric.shape[0]
        whole = gaps.all(axis=0)
        if (gaps != whole).any():
            return "".join(self._percent(file, channel[i:i + 1], numeric[i:i + 1],
                                         gaps[i:i + 1]) for i in range(n))
        kept = numeric[:, ~whole]
        cells = np.empty((n, kept.shape[1] + 1), dtype=object)
        cells[:, 0] = channel
        cells[:, 1:] = kept
        row = self._row_format(file, tuple(whole.tolist()))
        return (row * n) % tuple(cells.ravel().tolist())

    def close(self) -> None:
        self.fh.flush()


def _npz_dtypes(schema: Sequence[Column]) -> dict[str, np.dtype]:
    """The dtype of every array of an NPZ table, in member order (after ``files``)."""
    dtypes = {"file_index": np.dtype(np.int32), "channel": _CHANNEL_DTYPE}
    dtypes.update({c.name: np.dtype(_NUMPY_DTYPE[c.kind]) for c in schema})
    return dtypes


def _spools(names: Sequence[str], memory: int, folder: str | os.PathLike | None = None):
    """One spool per column, sharing ``memory`` bytes of memory before they roll over to
    temporary files (in ``folder``)."""
    size = max(1 << 16, memory // len(names))
    return {name: tempfile.SpooledTemporaryFile(size, prefix="sfm-audio-npz-", dir=folder)
            for name in names}


def _write_header(out: IO[bytes], dtype: np.dtype, rows: int) -> None:
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
              "shape": (rows,)}
    np.lib.format.write_array_header_1_0(out, header)


def _write_member(zf: zipfile.ZipFile, name: str, array: np.ndarray) -> None:
    with zf.open(f"{name}.npy", "w", force_zip64=True) as out:
        np.lib.format.write_array(out, array, allow_pickle=False)


def _zip_columns(path: Path, files: list[str], spools: dict, dtypes: dict[str, np.dtype],
                 rows: int) -> None:
    """Write an NPZ table: ``files``, then every spooled column as a .npy member, stored."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        _write_member(zf, "files", np.asarray(files, dtype=str))
        for name, spool in spools.items():
            with zf.open(f"{name}.npy", "w", force_zip64=True) as out:
                _write_header(out, dtypes[name], rows)
                spool.seek(0)
                shutil.copyfileobj(spool, out, 1 << 20)
            spool.close()


#: first bytes of an NPZ *part* (a corpus job's table, written with ``header=False``)
_NPZ_PART_MAGIC = b"SFMNPZP1"


class _NpzWriter:
    """Spool each column (in memory while small, then in a temporary file); zip them as .npy
    members on close. The columns share :attr:`MEMORY` bytes of memory, so a summary (a few
    rows of hundreds of columns) never touches the disk and a long frame table stays bounded.

    ``part=True`` writes a corpus run's part instead of an NPZ: :data:`_NPZ_PART_MAGIC`, the
    length (8 bytes, little-endian) of a JSON header ``{"rows": n, "files": [...]}``, then
    the raw bytes of ``channel`` and of every numeric column, one after the other. Its
    layout follows from the header and the schema alone, so :class:`NpzJoin` appends its
    columns without parsing a zip or a .npy header.
    """

    MEMORY = 16 << 20

    def __init__(self, path: Path, schema: list[Column], *, part: bool = False):
        self.path, self.schema, self.part = path, schema, part
        names = ["file_index", "channel"] + [c.name for c in schema]
        if part:  # the joiner numbers the files itself
            names.remove("file_index")
        self._spools = _spools(names, self.MEMORY)
        self._files: list[str] = []
        self.rows = 0
        # runs of consecutive columns of one type, (first, past the last, type): each run is
        # converted in one call
        self._runs: list[tuple[int, int, type]] = []
        for dtype, run in itertools.groupby(range(len(schema)),
                                            key=lambda j: _NUMPY_DTYPE[schema[j].kind]):
            js = list(run)
            self._runs.append((js[0], js[-1] + 1, dtype))

    def write(self, file: str, channel: Sequence[str], numeric: np.ndarray) -> None:
        if not self._files or self._files[-1] != file:
            self._files.append(file)
        n = numeric.shape[0]
        if not self.part:
            self._spools["file_index"].write(np.full(n, len(self._files) - 1, dtype=np.int32))
        self._spools["channel"].write(np.asarray(channel, dtype=_CHANNEL_DTYPE))
        for a, b, dtype in self._runs:
            # column-major in one conversion: each column is then one contiguous row
            columns = np.ascontiguousarray(numeric[:, a:b].T, dtype=dtype)
            for j in range(a, b):
                self._spools[self.schema[j].name].write(columns[j - a])
        self.rows += n

    def close(self) -> None:
        try:
            if self.part:
                head = json.dumps({"rows": self.rows, "files": self._files}).encode()
                with open(self.path, "wb") as out:
                    out.write(_NPZ_PART_MAGIC + len(head).to_bytes(8, "little") + head)
                    for spool in self._spools.values():
                        spool.seek(0)
                        shutil.copyfileobj(spool, out, 1 << 20)
            else:
                _zip_columns(self.path, self._files, self._spools,
                             _npz_dtypes(self.schema), self.rows)
        finally:
            self.abort()

    def abort(self) -> None:
        for spool in self._spools.values():
            spool.close()


def _read_exactly(fh, n: int, part: Path) -> bytes:
    data = fh.read(n)
    if len(data) < n:
        raise OSError(f"{part}: truncated part")
    return data


class NpzJoin:
    """Join the NPZ parts of a corpus run into one NPZ, one part at a time, in order.

    :meth:`append` reads a part's columns and keeps their bytes until :attr:`BATCH` bytes
    wait; then each column's bytes go to the end of its spool in one write (the spools share
    :attr:`MEMORY` bytes of memory, then roll over to temporary files in ``folder``), because
    a write per column and part (~10 µs each) was most of the join's time per part. Nothing
    is decoded, and a part of any size is read in blocks of at most :attr:`BLOCK` bytes (a
    few columns at once, sliced without a copy), so memory stays
    bounded. :meth:`close` zips the spools into ``target``: the
    same bytes as one :func:`open_writer` given every part's rows in turn.
    """

    MEMORY = 16 << 20
    #: bytes of parts kept before they are written to the spools
    BATCH = 4 << 20
    #: the most bytes of a part read at once
    BLOCK = 4 << 20

    def __init__(self, target: Path, schema: list[Column], *,
                 folder: str | os.PathLike | None = None):
        self.target = target
        self.dtypes = _npz_dtypes(schema)
        self._spools = _spools(list(self.dtypes), self.MEMORY, folder)
        self._waiting: dict[str, list] = {name: [] for name in self.dtypes}
        self._waiting_bytes = 0
        self._files: list[str] = []
        self.rows = self.parts = 0

    def append(self, part: Path) -> None:
        """Add the rows of ``part`` (written by ``open_writer("npz", ..., header=False)``)."""
        with open(part, "rb") as fh:
            head = fh.read(16)
            if len(head) < 16 or head[:8] != _NPZ_PART_MAGIC:
                raise OSError(f"{part}: not an NPZ part of this version")
            meta = json.loads(fh.read(int.from_bytes(head[8:], "little")))
            rows = meta["rows"]
            self._keep("file_index", np.full(rows, self.parts, dtype=np.int32).tobytes())
            # consecutive columns are read together, up to BLOCK bytes in one read and
            # sliced without a copy (a read per column was half of the join's time per part)
            group: list[tuple[str, int]] = []
            group_bytes = 0
            for name, dtype in self.dtypes.items():
                if name == "file_index":
                    continue
                size = rows * dtype.itemsize
                if group and group_bytes + size > self.BLOCK:
                    self._keep_group(fh, group, group_bytes, part)
                    group, group_bytes = [], 0
                if size > self.BLOCK:  # a long column alone, in blocks
                    for start in range(0, size, self.BLOCK):
                        n = min(self.BLOCK, size - start)
                        self._keep(name, _read_exactly(fh, n, part))
                    continue
                group.append((name, size))
                group_bytes += size
            if group:
                self._keep_group(fh, group, group_bytes, part)
        self._files += meta["files"]
        self.rows += rows
        self.parts += 1

    def _keep_group(self, fh, group: list[tuple[str, int]], n_bytes: int, part: Path) -> None:
        data = memoryview(_read_exactly(fh, n_bytes, part))
        start = 0
        for name, size in group:
            self._keep(name, data[start:start + size])
            start += size

    def _keep(self, name: str, data: bytes | memoryview) -> None:
        self._waiting[name].append(data)
        self._waiting_bytes += len(data)
        if self._waiting_bytes >= self.BATCH:
            self._flush()

    def _flush(self) -> None:
        for name, pieces in self._waiting.items():
            if pieces:
                self._spools[name].write(b"".join(pieces))
                pieces.clear()
        self._waiting_bytes = 0

    def close(self) -> None:
        """Write the NPZ (the target's parts must all have been appended)."""
        try:
            self._flush()
            _zip_columns(self.target, self._files, self._spools, self.dtypes, self.rows)
        finally:
            self.abort()

    def abort(self) -> None:
        for pieces in self._waiting.values():
            pieces.clear()
        for spool in self._spools.values():
            spool.close()


def _arrow_schema(pa, schema: Sequence[Column]):
    types = {"int": pa.int64(), "time": pa.float64(), "value": pa.float32()}
    fields = [pa.field("file", pa.string()), pa.field("channel", pa.string())]
    fields += [pa.field(c.name, types[c.kind]) for c in schema]
    return pa.schema(fields)


# Arrow arrays are made from their buffers: pyarrow.array() imports pandas wherever it is
# installed (0.2-0.3 s in every worker of a run, on its first part), even for numpy input
def _arrow_numbers(pa, values: np.ndarray):
    """A 1-D numpy array of numbers (no NaN made null) as an Arrow array, without a copy
    of a contiguous one."""
    values = np.ascontiguousarray(values)
    return pa.Array.from_buffers(pa.from_numpy_dtype(values.dtype), values.size,
                                 [None, pa.py_buffer(values)])


def _arrow_strings(pa, texts: Sequence[str], *, repeat: int = 1):
    """Texts as an Arrow string array; with ``repeat``, the (one) text that many times."""
    data = [t.encode() for t in texts]
    if repeat != 1:
        data = data * repeat
    ends = np.zeros(len(data) + 1, dtype=np.int32)
    np.cumsum([len(d) for d in data], out=ends[1:])
    return pa.Array.from_buffers(pa.string(), len(data),
                                 [None, pa.py_buffer(ends), pa.py_buffer(b"".join(data))])


def _parquet_writer(path: Path, arrow_schema):
    """pyarrow's Parquet writer as every table of this package is written: dictionary
    encoding for the two text columns only. (A feature column is float32 with nearly as
    many values as rows: pyarrow's default tries a dictionary for it, then falls back, which
    took three quarters of the encoding time and made the file bigger.)"""
    import pyarrow.parquet as pq

    return pq.ParquetWriter(str(path), arrow_schema, use_dictionary=["file", "channel"])


class _ParquetWriter:
    """Buffer rows into row groups of at least 65536 rows and write them with pyarrow.

    ``part=True`` writes a corpus run's part instead: an Arrow IPC file of one record batch,
    which :class:`ParquetJoin` adds (:meth:`add`, not decoded) to the output's writer, whose
    row groups then follow the same rule across parts.
    """

    ROW_GROUP = 1 << 16

    def __init__(self, path: Path, schema: list[Column], *, part: bool = False):
        pa = _require_pyarrow()

        self.pa, self.schema = pa, schema
        self.arrow_schema = _arrow_schema(pa, schema)
        # the numeric columns of each kind, converted together (one transposing cast per
        # kind, not one strided copy per column), then each row handed to Arrow as it is
        kinds = [c.kind for c in schema]
        self._kinds = [(np.dtype(_NUMPY_DTYPE[k]), np.flatnonzero([x == k for x in kinds]))
                       for k in dict.fromkeys(kinds)]
        self._order = np.argsort(np.concatenate([i for _, i in self._kinds]), kind="stable")
        if part:
            self._sink = pa.OSFile(str(path), "wb")
            self._writer = pa.ipc.new_file(self._sink, self.arrow_schema)
        else:
            self._sink = None
            self._writer = _parquet_writer(path, self.arrow_schema)
        self._pending: list = []
        self._pending_rows = 0

    def write(self, file: str, channel: Sequence[str], numeric: np.ndarray) -> None:
        n, pa = numeric.shape[0], self.pa
        rows = [row for dtype, index in self._kinds
                for row in numeric.T[index].astype(dtype, copy=False)]
        arrays = [_arrow_strings(pa, [file], repeat=n), _arrow_strings(pa, channel)]
        arrays += [_arrow_numbers(pa, rows[k]) for k in self._order]
        self.add(pa.Table.from_arrays(arrays, schema=self.arrow_schema))

    def add(self, table) -> None:
        """Add rows already in Arrow (a table of this schema); a row group is written once
        :attr:`ROW_GROUP` rows wait."""
        self._pending.append(table)
        self._pending_rows += table.num_rows
        if self._pending_rows >= self.ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            table = self.pa.concat_tables(self._pending)
            if self._sink is None:
                self._writer.write_table(table)
            else:  # a part: one batch, so that the join, in the run's process, adds one
                self._writer.write_batch(table.combine_chunks().to_batches()[0])
            self._pending, self._pending_rows = [], 0

    def close(self) -> None:
        self._flush()
        self.abort()

    def abort(self) -> None:
        self._writer.close()
        if self._sink is not None:
            self._sink.close()


class ParquetJoin:
    """Join the Parquet parts of a corpus run (Arrow IPC files) into one Parquet file, one
    part at a time, in order: their record batches go to the writer of a table written
    directly (:meth:`_ParquetWriter.add`), so its row groups gather parts until they hold
    :attr:`_ParquetWriter.ROW_GROUP` rows. (A row group per part paid the encoder's fixed
    work per column chunk for every file, ~2 ms of the run's process per 10-s file.)"""

    def __init__(self, target: Path, schema: list[Column]):
        self._rows = _ParquetWriter(target, schema)

    def append(self, part: Path) -> None:
        """Add the rows of ``part`` (written by ``open_writer("parquet", ..., header=False)``)."""
        pa = self._rows.pa
        # mapped, not copied: a batch keeps the mapping it points into alive once the file
        # is closed (Arrow's buffers hold the mapped region), until its row group is written
        with pa.memory_map(str(part)) as source:
            reader = pa.ipc.open_file(source)
            for i in range(reader.num_record_batches):
                self._rows.add(pa.Table.from_batches([reader.get_batch(i)]))

    def close(self) -> None:
        self._rows.close()

    def abort(self) -> None:
        self._rows.abort()


class Writer:
    """A table being written to one output; use :func:`open_writer`."""

    def __init__(self, impl, fh: IO | None = None, index: np.ndarray | None = None):
        self._impl, self._fh, self._index = impl, fh, index

    def write(self, file: str, channel: Sequence[str], numeric: np.ndarray) -> None:
        """Append rows: ``channel`` has one label per row, ``numeric`` shape (n_rows, n_cols)
        in the columns of the writer's ``row_schema``."""
        if self._index is not None:
            wide = np.full((numeric.shape[0], len(self._impl.schema)), np.nan)
            wide[:, self._index] = numeric
            numeric = wide
        self._impl.write(file, channel, numeric)

    def close(self) -> None:
        self._impl.close()
        if self._fh is not None:
            self._fh.close()

    def abort(self) -> None:
        if hasattr(self._impl, "abort"):
            self._impl.abort()
        if self._fh is not None:
            self._fh.close()


def _column_index(row_schema: Sequence[Column], schema: Sequence[Column]) -> np.ndarray | None:
    """Where the columns of ``row_schema`` go in ``schema`` (None: the same columns)."""
    if list(row_schema) == list(schema):
        return None
    where = {c.name: i for i, c in enumerate(schema)}
    missing = [c.name for c in row_schema if where.get(c.name) is None or
               schema[where[c.name]].kind != c.kind]
    if missing:
        raise ParameterError(f"column {missing[0]!r} is not among the table's columns")
    present = {c.name for c in row_schema}
    empty_ints = [c.name for c in schema if c.kind == "int" and c.name not in present]
    if empty_ints:
        raise ParameterError(f"integer column {empty_ints[0]!r} cannot be left empty")
    return np.array([where[c.name] for c in row_schema], dtype=np.intp)


def open_writer(
    fmt: str,
    target: str | os.PathLike | IO[str],
    schema: list[Column],
    *,
    header: bool = True,
    row_schema: Sequence[Column] | None = None,
) -> Writer:
    """Open a table writer.

    Parameters
    ----------
    fmt : {"csv", "jsonl", "npz", "parquet"}
    target : path or text stream
        A text stream (e.g. standard output) is accepted for CSV and JSON Lines.
    schema : list of Column
        The numeric columns after ``file`` and ``channel``.
    header : bool
        False writes a *part* of a corpus run, for :func:`open_join` to join: CSV without
        its header line, JSON Lines as always, NPZ and Parquet in layouts the join copies
        without decoding (raw columns; an Arrow IPC file).
    row_schema : list of Column, optional
        The columns of the rows given to ``write``, a subset of ``schema`` (one file's
        columns in a table of several files); the other columns are left empty (NaN).
    """
    index = None if row_schema is None else _column_index(row_schema, schema)
    if fmt in ("csv", "jsonl"):
        if hasattr(target, "write"):
            return Writer(_TextWriter(target, schema, fmt, header=header), index=index)
        fh = open(target, "w", encoding="utf-8", newline="")
        return Writer(_TextWriter(fh, schema, fmt, header=header), fh, index)
    if fmt == "npz":
        return Writer(_NpzWriter(Path(target), schema, part=not header), index=index)
    if fmt == "parquet":
        return Writer(_ParquetWriter(Path(target), schema, part=not header), index=index)
    raise ParameterError(f"unknown output format {fmt!r}")


def _copy_file(src: IO[bytes], out: IO[bytes]) -> None:
    """The rest of ``src`` appended to ``out``, copied by the kernel where it can
    (``copy_file_range``: no pass through this process's memory), else by reads and writes."""
    out.flush()
    if hasattr(os, "copy_file_range"):
        try:
            while os.copy_file_range(src.fileno(), out.fileno(), 1 << 30):
                pass
            return
        except OSError:  # not on this filesystem or kernel: copied below, from where it stopped
            pass
    shutil.copyfileobj(src, out, 1 << 20)


class TextJoin:
    """Join CSV or JSON Lines parts: one CSV header, then every part's bytes as they are."""

    def __init__(self, target: Path, schema: list[Column], fmt: str):
        self._out = open(target, "wb")
        if fmt == "csv":
            line = ",".join(["file", "channel"] + [c.name for c in schema]) + "\n"
            self._out.write(line.encode("utf-8"))

    def append(self, part: Path) -> None:
        with open(part, "rb") as src:
            _copy_file(src, self._out)

    def close(self) -> None:
        self._out.close()

    def abort(self) -> None:
        self._out.close()


def open_join(fmt: str, target: Path, schema: list[Column], *,
              folder: str | os.PathLike | None = None):
    """A join of per-file parts (written with ``header=False``) into ``target``.

    The join has ``append(part)`` (in the table's order), ``close()`` and ``abort()``; its
    work per part is a copy of the part's bytes (NPZ: column by column into spools, in
    ``folder`` once they outgrow memory; Parquet: the part's record batches, encoded as row
    groups). The output is the same bytes as one writer given every part's rows in turn
    (Parquet: with a row group per part).
    """
    if fmt in ("csv", "jsonl"):
        return TextJoin(target, schema, fmt)
    if fmt == "npz":
        return NpzJoin(target, schema, folder=folder)
    if fmt == "parquet":
        return ParquetJoin(target, schema)
    raise ParameterError(f"unknown output format {fmt!r}")


def concatenate_parts(fmt: str, parts: Sequence[Path], target: Path, schema: list[Column]) -> None:
    """Join per-file parts (written with ``header=False``) into one output (see
    :func:`open_join`)."""
    join = open_join(fmt, target, schema)
    try:
        for part in parts:
            join.append(part)
    except BaseException:
        join.abort()
        raise
    join.close()

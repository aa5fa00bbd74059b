"""Feature tables out: CSV, JSON Lines, NPZ and Parquet, streamed with bounded memory.

A table is ``file``, ``channel`` and numeric columns. Rows arrive in blocks and are written
as they come; NPZ columns are spooled to temporary files and zipped at the end, so memory
never holds a whole long file. Every writer produces the same bytes for the same rows.

Types: ``file`` and ``channel`` are strings (``channel`` is ``"mix"`` or the channel index);
integer columns (``frame``, ``frames``) are int64; ``time_s`` and ``duration_s`` are float64
(six decimals in text); feature columns are float32 in NPZ/Parquet and 7 significant digits
in text (float32 precision).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Literal

import numpy as np

from ._errors import ParameterError

__all__ = [
    "Column",
    "frame_schema",
    "summary_schema",
    "format_of",
    "open_writer",
    "concatenate_parts",
    "FORMATS",
]

Kind = Literal["int", "time", "value"]
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".npz": "npz", ".parquet": "parquet"}
_TEXT_FORMAT = {"int": "%d", "time": "%.6f", "value": "%.7g"}
_NUMPY_DTYPE = {"int": np.int64, "time": np.float64, "value": np.float32}
_CHANNEL_DTYPE = np.dtype("<U8")


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind


def frame_schema(value_columns: Sequence[str]) -> list[Column]:
    """Numeric columns of the frame table after ``file`` and ``channel``."""
    return [Column("frame", "int"), Column("time_s", "time")] + [
        Column(name, "value") for name in value_columns
    ]


def summary_schema(stat_columns: Sequence[str]) -> list[Column]:
    """Numeric columns of the per-file summary after ``file`` and ``channel``."""
    return [Column("duration_s", "time"), Column("frames", "int")] + [
        Column(name, "value") for name in stat_columns
    ]


def format_of(output: str | os.PathLike) -> str:
    """Output format from the file name: csv, jsonl, npz or parquet (``-`` is CSV)."""
    if str(output) == "-":
        return "csv"
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
    """CSV and JSON Lines: one %-format per row, applied to a whole block at once."""

    def __init__(self, fh: IO[str], schema: list[Column], fmt: str, *, header: bool):
        self.fh, self.schema, self.fmt = fh, schema, fmt
        if fmt == "csv" and header:
            fh.write(",".join(["file", "channel"] + [c.name for c in schema]) + "\n")

    def _row_format(self, file: str) -> str:
        numbers = [_TEXT_FORMAT[c.kind] for c in self.schema]
        if self.fmt == "csv":
            return ",".join([_csv_field(file).replace("%", "%%"), "%s"] + numbers) + "\n"
        fields = [f'"file": {json.dumps(file)}'.replace("%", "%%"), '"channel": "%s"']
        fields += [f"{json.dumps(c.name)}: {n}" for c, n in zip(self.schema, numbers)]
        return "{" + ", ".join(fields) + "}\n"

    def write(self, file: str, channel: Sequence[str], numeric: np.ndarray) -> None:
        n = numeric.shape[0]
        if n == 0:
            return
        cells = np.empty((n, numeric.shape[1] + 1), dtype=object)
        cells[:, 0] = channel
        cells[:, 1:] = numeric
        self.fh.write((self._row_format(file) * n) % tuple(cells.ravel().tolist()))

    def close(self) -> None:
        self.fh.flush()


class _NpzWriter:
    """Spool each column to a temporary file; zip them as .npy members on close."""

    def __init__(self, path: Path, schema: list[Column]):
        self.path, self.schema = path, schema
        self._tmp = tempfile.TemporaryDirectory(prefix="sfm-audio-npz-")
        self._spools = {
            name: open(Path(self._tmp.name) / f"{i}.bin", "wb", buffering=1 << 18)
            for i, name in enumerate(["channel"] + [c.name for c in schema])
        }
        self._files: list[str] = []
        self._file_index = open(Path(self._tmp.name) / "file_index.bin", "wb", buffering=1 << 18)
        self.rows = 0

    def write(self, file: str, channel: Sequence[str], numeric: np.ndarray) -> None:
        if not self._files or self._files[-1] != file:
            self._files.append(file)
        n = numeric.shape[0]
        # buffered writes: ndarray.tofile flushes on every call, 30 us each
        self._file_index.write(np.full(n, len(self._files) - 1, dtype=np.int32).tobytes())
        self._spools["channel"].write(np.asarray(channel, dtype=_CHANNEL_DTYPE).tobytes())
        for j, column in enumerate(self.schema):
            self._spools[column.name].write(
                numeric[:, j].astype(_NUMPY_DTYPE[column.kind]).tobytes())
        self.rows += n

    def close(self) -> None:
        members = {"file_index": (self._file_index, np.dtype(np.int32))}
        members["channel"] = (self._spools["channel"], _CHANNEL_DTYPE)
        for column in self.schema:
            members[column.name] = (self._spools[column.name], np.dtype(_NUMPY_DTYPE[column.kind]))
        with zipfile.ZipFile(self.path, "w", compression=zipfile.ZIP_STORED) as zf:
            _write_member(zf, "files", np.asarray(self._files, dtype=str))
            for name, (spool, dtype) in members.items():
                spool.close()
                with zf.open(f"{name}.npy", "w", force_zip64=True) as out:
                    _write_header(out, dtype, self.rows)
                    with open(spool.name, "rb") as src:
                        shutil.copyfileobj(src, out, 1 << 20)
        self._tmp.cleanup()

    def abort(self) -> None:
        for spool in self._spools.values():
            spool.close()
        self._file_index.close()
        self._tmp.cleanup()


def _write_header(out: IO[bytes], dtype: np.dtype, rows: int) -> None:
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False,
              "shape": (rows,)}
    np.lib.format.write_array_header_1_0(out, header)


def _write_member(zf: zipfile.ZipFile, name: str, array: np.ndarray) -> None:
    with zf.open(f"{name}.npy", "w", force_zip64=True) as out:
        np.lib.format.write_array(out, array, allow_pickle=False)


class _ParquetWriter:
    """Buffer rows into row groups of at least 65536 rows and write them with pyarrow."""

    ROW_GROUP = 1 << 16

    def __init__(self, path: Path, schema: list[Column]):
        pa = _require_pyarrow()
        import pyarrow.parquet as pq

        self.pa, self.schema = pa, schema
        types = {"int": pa.int64(), "time": pa.float64(), "value": pa.float32()}
        fields = [pa.field("file", pa.string()), pa.field("channel", pa.string())]
        fields += [pa.field(c.name, types[c.kind]) for c in schema]
        self.arrow_schema = pa.schema(fields)
        self._writer = pq.ParquetWriter(str(path), self.arrow_schema)
        self._pending: list = []
        self._pending_rows = 0

    def write(self, file: str, channel: Sequence[str], numeric: np.ndarray) -> None:
        n = numeric.shape[0]
        arrays = [self.pa.array([file] * n, self.pa.string()),
                  self.pa.array(list(channel), self.pa.string())]
        arrays += [self.pa.array(numeric[:, j].astype(_NUMPY_DTYPE[c.kind]))
                   for j, c in enumerate(self.schema)]
        self._pending.append(self.pa.Table.from_arrays(arrays, schema=self.arrow_schema))
        self._pending_rows += n
        if self._pending_rows >= self.ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        if self._pending:
            self._writer.write_table(self.pa.concat_tables(self._pending))
            self._pending, self._pending_rows = [], 0

    def close(self) -> None:
        self._flush()
        self._writer.close()

    def abort(self) -> None:
        self._writer.close()


class Writer:
    """A table being written to one output; use :func:`open_writer`."""

    def __init__(self, impl, fh: IO | None = None):
        self._impl, self._fh = impl, fh

    def write(self, file: str, channel: Sequence[str], numeric: np.ndarray) -> None:
        """Append rows: ``channel`` has one label per row, ``numeric`` shape (n_rows, n_cols)."""
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


def open_writer(
    fmt: str, target: str | os.PathLike | IO[str], schema: list[Column], *, header: bool = True
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
        Write the CSV header line (parts of a corpus run are written without it).
    """
    if fmt in ("csv", "jsonl"):
        if hasattr(target, "write"):
            return Writer(_TextWriter(target, schema, fmt, header=header))
        fh = open(target, "w", encoding="utf-8", newline="")
        return Writer(_TextWriter(fh, schema, fmt, header=header), fh)
    if fmt == "npz":
        return Writer(_NpzWriter(Path(target), schema))
    if fmt == "parquet":
        return Writer(_ParquetWriter(Path(target), schema))
    raise ParameterError(f"unknown output format {fmt!r}")


def _read_npy_header(fh: IO[bytes]) -> tuple[tuple, bool, np.dtype]:
    version = np.lib.format.read_magic(fh)
    if version == (1, 0):
        return np.lib.format.read_array_header_1_0(fh)
    return np.lib.format.read_array_header_2_0(fh)


def _npz_members(path: Path) -> dict[str, tuple[zipfile.ZipInfo, np.dtype, int]]:
    with zipfile.ZipFile(path) as zf:
        out = {}
        for info in zf.infolist():
            with zf.open(info) as member:
                shape, _, dtype = _read_npy_header(member)
            out[info.filename[:-4]] = (info, dtype, shape[0] if shape else 0)
        return out


def concatenate_parts(fmt: str, parts: Sequence[Path], target: Path, schema: list[Column]) -> None:
    """Join per-file parts (written with ``header=False``) into one output, streaming.

    CSV gets one header and the parts' rows; JSON Lines the parts' lines; NPZ column by
    column with ``file_index`` renumbered; Parquet row group by row group.
    """
    if fmt in ("csv", "jsonl"):
        with open(target, "w", encoding="utf-8", newline="") as out:
            if fmt == "csv":
                out.write(",".join(["file", "channel"] + [c.name for c in schema]) + "\n")
            for part in parts:
                with open(part, encoding="utf-8", newline="") as src:
                    shutil.copyfileobj(src, out, 1 << 20)
        return
    if fmt == "parquet":
        import pyarrow.parquet as pq

        writer = None
        try:
            for part in parts:
                pf = pq.ParquetFile(part)
                if writer is None:
                    writer = pq.ParquetWriter(str(target), pf.schema_arrow)
                for i in range(pf.num_row_groups):
                    writer.write_table(pf.read_row_group(i))
            if writer is None:
                _ParquetWriter(target, schema).close()
        finally:
            if writer is not None:
                writer.close()
        return
    if fmt == "npz":
        infos = [_npz_members(part) for part in parts]
        files = [str(f) for part in parts for f in np.load(part)["files"]]
        rows = [info["channel"][2] for info in infos]
        names = ["file_index", "channel"] + [c.name for c in schema]
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED) as zf:
            _write_member(zf, "files", np.asarray(files, dtype=str))
            for name in names:
                dtype = infos[0][name][1] if infos else np.dtype(np.float32)
                with zf.open(f"{name}.npy", "w", force_zip64=True) as out:
                    _write_header(out, dtype, sum(rows))
                    for k, (part, info) in enumerate(zip(parts, infos)):
                        if name == "file_index":
                            out.write(np.full(rows[k], k, dtype=np.int32).tobytes())
                            continue
                        with zipfile.ZipFile(part) as src_zip, src_zip.open(info[name][0]) as src:
                            _read_npy_header(src)
                            shutil.copyfileobj(src, out, 1 << 20)
        return
    raise ParameterError(f"unknown output format {fmt!r}")

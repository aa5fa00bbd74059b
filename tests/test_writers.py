import csv
import io as stdio
import json

import numpy as np
import pyarrow.parquet as pq
import pytest

from sfm_audio import ParameterError
from sfm_audio.writers import (
    Column,
    concatenate_parts,
    format_of,
    frame_schema,
    open_writer,
)

SCHEMA = frame_schema(["sfm", "sfm_db"])


def _rows(n, seed):
    rng = np.random.default_rng(seed)
    numeric = np.column_stack([np.arange(n), np.arange(n) * 0.032, rng.random(n),
                               -60 * rng.random(n)])
    return ["mix"] * n, numeric


def _write(fmt, path, blocks, header=True):
    w = open_writer(fmt, path, SCHEMA, header=header)
    for file, (channel, numeric) in blocks:
        w.write(file, channel, numeric)
    w.close()


def _read(fmt, path):
    """Back to (file, channel, frame, time_s, sfm, sfm_db) tuples."""
    if fmt == "csv":
        with open(path, newline="") as fh:
            return [(r["file"], r["channel"], int(r["frame"]), float(r["time_s"]),
                     float(r["sfm"]), float(r["sfm_db"])) for r in csv.DictReader(fh)]
    if fmt == "jsonl":
        rows = [json.loads(line) for line in open(path)]
        return [(r["file"], r["channel"], r["frame"], r["time_s"], r["sfm"], r["sfm_db"])
                for r in rows]
    if fmt == "npz":
        d = np.load(path)
        files = d["files"]
        return [(str(files[i]), str(c), int(f), float(t), float(s), float(db))
                for i, c, f, t, s, db in zip(d["file_index"], d["channel"], d["frame"],
                                             d["time_s"], d["sfm"], d["sfm_db"])]
    t = pq.read_table(path).to_pydict()
    return list(zip(t["file"], t["channel"], t["frame"], t["time_s"], t["sfm"], t["sfm_db"]))


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "npz", "parquet"])
def test_round_trip_within_float32(tmp_path, fmt):
    blocks = [("a, \"odd\" name.wav", _rows(5, 0)), ("a, \"odd\" name.wav", _rows(3, 1))]
    path = tmp_path / f"t.{fmt}"
    _write(fmt, path, blocks)
    back = _read(fmt, path)
    expected = [(f, c, *row) for f, (ch, num) in blocks for c, row in zip(ch, num.tolist())]
    assert len(back) == len(expected) == 8
    for got, want in zip(back, expected):
        assert got[:3] == (want[0], want[1], int(want[2]))
        np.testing.assert_allclose(got[3:], want[3:], rtol=2e-7, atol=1e-6)


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "npz", "parquet"])
def test_parts_join_to_the_single_write(tmp_path, fmt):
    blocks = [("one.wav", _rows(4, 2)), ("two.wav", _rows(6, 3)), ("three.wav", _rows(1, 4))]
    whole = tmp_path / f"whole.{fmt}"
    _write(fmt, whole, blocks)
    parts = []
    for k, block in enumerate(blocks):
        part = tmp_path / f"part{k}.{fmt}"
        _write(fmt, part, [block], header=False)
        parts.append(part)
    joined = tmp_path / f"joined.{fmt}"
    concatenate_parts(fmt, parts, joined, SCHEMA)
    assert _read(fmt, joined) == _read(fmt, whole)
    if fmt in ("csv", "jsonl", "npz"):
        assert joined.read_bytes() == whole.read_bytes()


def test_text_parts_join_where_the_kernel_cannot_copy(tmp_path, monkeypatch):
    """Without copy_file_range (an old kernel, another filesystem) the parts are copied
    by reads and writes, to the same bytes."""
    blocks = [("one.wav", _rows(4, 2)), ("two.wav", _rows(6, 3))]
    parts = []
    for k, block in enumerate(blocks):
        parts.append(tmp_path / f"part{k}.csv")
        _write("csv", parts[-1], [block], header=False)
    concatenate_parts("csv", parts, tmp_path / "kernel.csv", SCHEMA)

    def refuse(*args):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr("os.copy_file_range", refuse, raising=False)
    concatenate_parts("csv", parts, tmp_path / "copied.csv", SCHEMA)
    _write("csv", tmp_path / "whole.csv", blocks)
    assert (tmp_path / "kernel.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    assert (tmp_path / "copied.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()


def test_same_rows_same_bytes(tmp_path):
    for name in ("a.npz", "b.npz"):
        _write("npz", tmp_path / name, [("x.wav", _rows(10, 5))])
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()


def test_npz_columns_spilled_to_disk_read_back(tmp_path, monkeypatch):
    # 64 KB spools: float32 columns of 40 000 rows roll over to temporary files mid-table
    from sfm_audio import writers

    monkeypatch.setattr(writers._NpzWriter, "MEMORY", 0)
    blocks = [("x.wav", _rows(20_000, 6)), ("y.wav", _rows(20_000, 7))]
    path = tmp_path / "big.npz"
    _write("npz", path, blocks)
    d = np.load(path)
    numeric = np.concatenate([num for _, (_, num) in blocks])
    np.testing.assert_array_equal(d["frame"], numeric[:, 0].astype(np.int64))
    np.testing.assert_array_equal(d["time_s"], numeric[:, 1])
    np.testing.assert_array_equal(d["sfm"], numeric[:, 2].astype(np.float32))
    np.testing.assert_array_equal(d["sfm_db"], numeric[:, 3].astype(np.float32))
    np.testing.assert_array_equal(d["file_index"], np.repeat([0, 1], 20_000))
    assert list(d["files"]) == ["x.wav", "y.wav"]


def test_csv_header_and_number_format():
    buffer = stdio.StringIO()
    w = open_writer("csv", buffer, SCHEMA)
    w.write("f.wav", ["mix"], np.array([[3, 0.096, 0.5615, -2.5068]]))
    w.close()
    assert buffer.getvalue() == (
        "file,channel,frame,time_s,sfm,sfm_db\nf.wav,mix,3,0.096000,0.5615,-2.5068\n"
    )


@pytest.mark.parametrize("name", ["out.txt", "out", "out.wav"])
def test_unknown_extension(name):
    with pytest.raises(ParameterError, match="unknown output extension"):
        format_of(name)


def test_stdout_is_csv():
    assert format_of("-") == "csv"


# --------------------------------------------------------------------------- several files


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "npz", "parquet"])
def test_rows_of_fewer_columns_leave_the_others_empty(tmp_path, fmt):
    wide = frame_schema(["sfm", "sfm_band_1", "sfm_band_2"])
    narrow = frame_schema(["sfm", "sfm_band_1"])
    path = tmp_path / f"t.{fmt}"
    w = open_writer(fmt, path, wide, row_schema=narrow)
    w.write("a.wav", ["mix", "mix"], np.array([[0, 0.0, 0.5, 0.25], [1, 0.032, 0.75, 0.125]]))
    w.close()
    if fmt == "csv":
        assert path.read_text().splitlines()[1:] == [
            "a.wav,mix,0,0.000000,0.5,0.25,", "a.wav,mix,1,0.032000,0.75,0.125,"]
    elif fmt == "jsonl":
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        assert [r["sfm_band_2"] for r in rows] == [None, None]
        assert [r["sfm_band_1"] for r in rows] == [0.25, 0.125]
    elif fmt == "npz":
        d = np.load(path)
        assert np.isnan(d["sfm_band_2"]).all() and d["sfm_band_1"].tolist() == [0.25, 0.125]
    else:
        t = pq.read_table(path).to_pydict()
        assert all(np.isnan(t["sfm_band_2"])) and t["sfm_band_1"] == [0.25, 0.125]


def test_rows_with_columns_the_table_lacks_are_refused(tmp_path):
    with pytest.raises(ParameterError, match="column 'crest' is not among the table's"):
        open_writer("csv", tmp_path / "t.csv", frame_schema(["sfm"]),
                    row_schema=frame_schema(["sfm", "crest"]))
    with pytest.raises(ParameterError, match="integer column 'frame' cannot be left empty"):
        open_writer("npz", tmp_path / "t.npz", frame_schema(["sfm"]),
                    row_schema=[Column("time_s", "time"), Column("sfm", "value")])
    assert list(tmp_path.iterdir()) == []


def test_text_nan_in_some_rows_only(tmp_path):
    """NaN in some rows of a block (a statistic of a gated segment) is written row by row:
    an empty CSV field, a JSON null, never 'nan'."""
    schema = frame_schema(["a", "b"])
    numeric = np.array([[0, 0.0, 1.5, np.nan], [1, 0.1, np.nan, 2.5]])
    text = {}
    for fmt in ("csv", "jsonl"):
        buffer = stdio.StringIO()
        w = open_writer(fmt, buffer, schema, header=False)
        w.write("x.wav", ["mix", "mix"], numeric)
        w.close()
        text[fmt] = buffer.getvalue()
    assert text["csv"] == "x.wav,mix,0,0.000000,1.5,\nx.wav,mix,1,0.100000,,2.5\n"
    rows = [json.loads(line) for line in text["jsonl"].splitlines()]
    assert [(r["a"], r["b"]) for r in rows] == [(1.5, None), (None, 2.5)]


def test_parquet_rows_are_arrow_arrays_without_pandas(tmp_path):
    """The Parquet writer builds its Arrow arrays from their buffers: pyarrow.array()
    imports pandas wherever it is installed (0.2-0.3 s in every worker of a run, on its first
    part). The arrays are what pyarrow.array() gives: a NaN stays a NaN, not a null;
    text with non-ASCII characters keeps them."""
    pytest.importorskip("pandas")  # without it, the import could not happen anyway
    code = (
        "import sys, numpy as np\n"
        "from sfm_audio.writers import open_writer, frame_schema\n"
        "w = open_writer('parquet', sys.argv[1], frame_schema(['sfm', 'sfm_db']))\n"
        "w.write('été.wav', ['mix', 'ch2'], np.array([[0, 0.0, np.nan, -3.0], "
        "[1, 0.032, 0.5, np.nan]]))\n"
        "w.close()\n"
        "print('pandas' in sys.modules)\n"
    )
    import subprocess
    import sys

    path = tmp_path / "t.parquet"
    done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                          text=True, check=True)
    assert done.stdout.strip() == "False"
    table = pq.read_table(path)
    assert table.column("file").to_pylist() == ["été.wav", "été.wav"]
    assert table.column("channel").to_pylist() == ["mix", "ch2"]
    assert table.column("frame").to_pylist() == [0, 1]
    assert table.column("sfm").null_count == 0 and np.isnan(table.column("sfm")[0].as_py())
    assert table.column("sfm").type == "float" and table.column("time_s").type == "double"

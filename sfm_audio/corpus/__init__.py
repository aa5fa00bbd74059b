"""Many files into one output: expand inputs, run a per-file job, join the parts in order.

Each input file is one *job* that writes its own *part* (for ``extract`` the file's rows in
the output format, without a header; for ``code`` the file's JSON report); the parts are
joined in sorted path order, so the output does not depend on how or where the jobs ran. A
failing file never stops the run: its error is collected and the remaining files are
finished.

Modules: :mod:`~sfm_audio.corpus.inputs` (expansion, filters, dedupe, ordering),
:mod:`~sfm_audio.corpus.staging` (part names, resume, clean-up, the error CSV),
:mod:`~sfm_audio.corpus.executors` (in-process, process pool, Dask: one interface) with
:mod:`~sfm_audio.corpus.malloc` (glibc tuning of the workers),
:mod:`~sfm_audio.corpus.joiner` (parts into the output), :mod:`~sfm_audio.corpus.runner`
(one run, whatever the task), and the two tasks: :mod:`~sfm_audio.corpus.tables` (feature
tables, :func:`extract_files`) and :mod:`~sfm_audio.corpus.code` (coding reports,
:func:`code_files`).

Where the jobs run
------------------
- ``jobs=1``: one after the other in this process.
- ``jobs=N``: a pool of N worker processes, forked from a ``forkserver`` that has imported
  the task's modules once (``spawn`` where there is no fork server): never a fork of the
  caller's process with its threads and locks. Each job is single-threaded — no reader
  thread, no FFT pool, BLAS pinned to one thread — so N jobs use N cores. A worker that dies
  (a crash, the OOM killer) is reported as the failure of the file it was working on.
  Each part is appended to the output as soon as every earlier file is settled, so the join
  overlaps the computing, and the work per part in this process is a copy of its bytes (NPZ
  parts are raw columns, Parquet parts Arrow record batches: nothing is parsed or decoded
  but Parquet's encoding of the row groups, each of at least 65,536 rows gathered over
  parts). Jobs go to the workers in batches of up to four (one at a time near the end):
  each round trip to a worker costs this process ~0.3 ms of CPU, which a batch shares.
- ``scheduler="tcp://host:8786"``: the same jobs on a running Dask distributed cluster.
  Workers open the input files by their absolute path, so every path must be readable under
  that same path on every worker (a shared filesystem), and the workers need the same
  ``sfm_audio`` installed. Only the inputs must be shared: a worker that sees the client's
  staging folder (checked with a random token the run writes into it) and may write there
  writes its part straight into it; any other worker sends the part's bytes back to the
  client (a part is bounded by one file's table), which writes it. A part the client cannot
  see after a worker said it wrote it is asked for again as bytes. Resuming is decided on the
  client alone.
- Standard input (``-``, at most once) is read on the client, always in this process, and
  never resumed.

Staging and resuming
--------------------
Parts live in a staging folder beside the output, ``.<output name>.parts/``, one file per
input named by a hash of everything that decides its bytes (absolute path, the path as
written in the ``file`` column, size and modification time of the input, options, summary,
format and columns). Parts are written to a temporary name and renamed, so a part that exists
is complete. After the join the folder is removed when every file succeeded; when some
failed it is kept, so that a rerun with ``resume=True`` retries only those. Without
``resume`` a stale staging folder is cleared first. With ``resume`` every part already there
is reused and only the missing files are computed; the output is byte for byte the output
of one full run. A run that was killed (even with SIGKILL) leaves only complete parts and
hidden temporary files, which the next run removes. A complete run leaves nothing to resume:
``resume`` then computes everything again. A run without an output file (CSV on standard
output, ``code`` without ``--json``) stages its parts in a temporary folder.

Columns
-------
A table of several files has the union of their columns (files at different sampling rates
have different bands): a band above a file's Nyquist frequency is empty for that file (NaN
in NPZ and Parquet, an empty field in CSV, ``null`` in JSON Lines). The columns are read from
every file's header before any job runs. Band layouts placed by each file's rate (``mel:N``,
``linear:N``) are refused for files at several rates unless ``sr`` brings them to one.
"""

from __future__ import annotations

from .executors import process_pool
from .inputs import STDIN, Failure, InputScan, expand_inputs, scan_inputs
from .malloc import tune_malloc
from .runner import RunReport, default_jobs
from .staging import staging_dir, write_errors
from .tables import extract_file, extract_files

__all__ = [
    "CodeOptions",
    "Failure",
    "InputScan",
    "RunReport",
    "STDIN",
    "code_file",
    "code_files",
    "default_jobs",
    "expand_inputs",
    "extract_file",
    "extract_files",
    "process_pool",
    "scan_inputs",
    "staging_dir",
    "tune_malloc",
    "write_errors",
]

#: the coding task (which imports the coders) is loaded when first asked for: ``extract``
#: over a corpus never needs it
_CODE_NAMES = frozenset({"CodeOptions", "code_file", "code_files"})


def __getattr__(name: str):
    if name in _CODE_NAMES:
        from . import code

        return getattr(code, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The transform-coding experiment over many files: ``sfm-audio code`` as a library call.

:func:`code_file` runs :func:`sfm_audio.coding.run_experiment` on one file and returns its
report (JSON-ready); :func:`code_files` runs it over a corpus on the same executors and
staging folder as :func:`sfm_audio.corpus.extract_files` (``jobs``, ``scheduler``,
``resume``): each file's part is its JSON report, and the reports are joined in path order.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from .. import defaults
from .._errors import ParameterError
from .._files import atomic_path, check_output_dir
from .inputs import Failure, scan_inputs
from .joiner import InOrder
from .runner import RunReport, check_run, run_task
from .staging import Staging

__all__ = ["CodeOptions", "ReportJoiner", "code_file", "code_files", "json_safe", "wav_name"]


@dataclass(frozen=True)
class CodeOptions:
    """Options of the coding experiment (see :func:`sfm_audio.coding.run_experiment`)."""

    blocks: tuple[int, ...] = defaults.BLOCKS
    rates: tuple[float, ...] = defaults.RATES
    transforms: tuple[str, ...] = defaults.TRANSFORMS
    reconstruction: str = defaults.RECONSTRUCTION
    orders: tuple[int, ...] = defaults.ORDERS
    duality_block: int = defaults.DUALITY_BLOCK
    duality_rate: float = defaults.DUALITY_RATE
    #: read files whose data ends before their header says (see sfm_audio.io.stream)
    allow_truncated: bool = False
    #: the gains experiment's operating points (PCM bits per sample); None: not run
    pcm_bits: tuple[int, ...] | None = None
    #: seconds of each file the gains experiment codes (None: all)
    gains_seconds: float | None = None


def json_safe(value):
    """``value`` with numpy scalars as Python numbers and non-finite floats as None."""
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    return value


def wav_name(prefix: str, block: int, transform: str, rate: float) -> Path:
    """Where ``--write-wav PREFIX`` writes one decoded signal."""
    return Path(f"{prefix}-N{block}-{transform}-{rate:g}bps.wav")


def code_file(path: str, options: CodeOptions, wav_prefix: str | None = None, *,
              label: str | None = None, frames_out: str | os.PathLike | None = None,
              jobs: int = 1) -> dict:
    """The experiment on one file, its decoded WAVs written all or none; the JSON report.

    ``label`` is the report's ``file`` (default: ``path``). ``frames_out``: also write the
    per-frame duality table there as CSV (:func:`sfm_audio.coding.duality.write_frames`).
    ``jobs``: processes the file's independent parts run on (the same report whatever it
    is, see :func:`sfm_audio.coding.run_experiment`).
    """
    from .. import io
    from ..coding import run_experiment

    settings = asdict(options)
    pcm_bits, seconds = settings.pop("pcm_bits"), settings.pop("gains_seconds")
    with io.allowing_truncated(settings.pop("allow_truncated")):
        experiment = run_experiment(path, keep_decoded=wav_prefix is not None, jobs=jobs,
                                    **settings)
        record = experiment.report
        if pcm_bits is not None:
            from ..coding.gains import gains_file

            rows = gains_file(path, pcm_bits=pcm_bits, seconds=seconds)
            record = dataclasses.replace(record, gains=tuple(
                dataclasses.replace(r, file=label or str(path)) for r in rows))
    report = record.to_dict()
    if label is not None:
        report["file"] = label
    written: list[Path] = []
    try:
        if wav_prefix is not None:
            for (b, t, r), y in experiment.decoded.items():
                target = wav_name(wav_prefix, b, t, r)
                io.write_wav(target, np.clip(y, -1.0, 1.0 - 2.0**-15), report["sr"])
                written.append(target)
        if frames_out is not None:
            from ..coding.duality import write_frames

            written.append(write_frames(frames_out, experiment.duality))
    except BaseException:
        for written_path in written:  # all or nothing
            with contextlib.suppress(FileNotFoundError):
                written_path.unlink()
        raise
    return report


@dataclass(frozen=True)
class CodeTask:
    """The report of one file as a part of a run (picklable). ``wav_prefix`` (absolute) is
    followed by ``-<file stem>`` for each file."""

    options: CodeOptions
    wav_prefix: str | None

    suffix = ".json"
    preload = ("sfm_audio.coding",)  # imported once by the pool's fork server

    def key(self) -> str:
        return repr([asdict(self.options), self.wav_prefix])

    def __call__(self, path: str, label: str, target: Path) -> None:
        prefix = None if self.wav_prefix is None else f"{self.wav_prefix}-{Path(label).stem}"
        report = code_file(path, self.options, prefix, label=label)
        target.write_text(json.dumps(report, allow_nan=False), encoding="utf-8")


class ReportJoiner(InOrder):
    """Collect the reports in path order; ``on_report`` sees each as soon as every earlier
    file is settled; ``json_out`` gets them all with the failures at the end."""

    def __init__(self, paths: list[str], part_of: dict[str, Path],
                 on_report: Callable[[dict], None] | None = None,
                 json_out: str | os.PathLike | None = None):
        super().__init__(paths, part_of)
        self.on_report, self.json_out = on_report, json_out
        self.reports: list[dict] = []

    def _take(self, part: Path) -> None:
        report = json.loads(part.read_text(encoding="utf-8"))
        self.reports.append(report)
        if self.on_report is not None:
            self.on_report(report)

    def finish(self, failed: Sequence[Failure] = ()) -> bool:
        if not self.reports:
            return False
        if self.json_out is not None:
            write_json(self.json_out, {"files": self.reports, "failed": [
                {"file": f.file, "error": f.error} for f in failed]})
        return True

    def abort(self) -> None:
        pass


def write_json(path: str | os.PathLike, document: dict) -> None:
    """Write a JSON document completely or not at all."""
    with atomic_path(path, suffix=".json") as tmp:
        tmp.write_text(json.dumps(document, indent=1, allow_nan=False) + "\n")


def code_files(
    inputs: Sequence[str | os.PathLike],
    options: CodeOptions | None = None,
    *,
    json_out: str | os.PathLike | None = None,
    wav_prefix: str | None = None,
    jobs: int = 1,
    scheduler: str | None = None,
    resume: bool = False,
    own_process: bool = False,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    hidden: bool = False,
    on_report: Callable[[dict], None] | None = None,
    on_plan: Callable[[int, int], None] | None = None,
    on_file: Callable[[str, Failure | None], None] | None = None,
) -> tuple[RunReport, list[dict]]:
    """The coding experiment on every input; reports in path order.

    Parameters
    ----------
    inputs : sequence of paths, folders or globs, or "-" (standard input)
    options : CodeOptions
    json_out : path, optional
        Write ``{"files": [report, ...], "failed": [{"file", "error"}, ...]}`` here (when
        at least one file succeeded); its staging folder is what ``resume`` reuses.
    wav_prefix : str, optional
        Write the decoded audio of each file as ``PREFIX-<stem>-N...wav``. With a
        ``scheduler`` the workers write them: the folder must be shared as the inputs are.
    jobs, scheduler, resume, own_process, include, exclude, hidden, on_plan, on_file
        As for :func:`sfm_audio.corpus.extract_files`; ``resume`` needs ``json_out``.
    on_report : callable(report), optional
        Called with each report, in path order, as soon as the earlier files are settled.

    Returns
    -------
    RunReport, list of dict
        What the run did, and the reports of the files that succeeded.
    """
    options = options or CodeOptions()
    check_run(jobs, resume, False, scheduler)
    if resume and json_out is None:
        raise ParameterError("resume needs a JSON output (json_out) to keep its parts beside",
                             param="resume")
    if json_out is not None:
        check_output_dir(json_out)
    scan = scan_inputs(inputs, include=include, exclude=exclude, hidden=hidden)
    report = RunReport(failed=list(scan.failures), skipped=scan.skipped)
    paths = scan.paths
    if wav_prefix is not None:
        check_output_dir(wav_name(wav_prefix, 2, "klt", 1.0))
        stems = [Path(p).stem for p in paths]
        clash = sorted({s for s in stems if stems.count(s) > 1})
        if clash:
            raise ParameterError(f"--write-wav: several inputs are named {clash[0]!r}; rename "
                                 "or code them apart")
        wav_prefix = os.path.abspath(wav_prefix)
    task = CodeTask(options, wav_prefix)
    staging = Staging(json_out, resume=resume)
    key = task.key()  # once: it is the repr of every option and column
    part_of = {p: staging.part(p, key, task.suffix) for p in paths}
    joiner = ReportJoiner(paths, part_of, on_report, json_out)
    run_task(paths, task, joiner, staging, report, jobs=jobs, scheduler=scheduler,
             resume=resume, own_process=own_process, part_of=part_of, on_plan=on_plan,
             on_file=on_file)
    return report, joiner.reports

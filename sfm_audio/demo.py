"""``sfm-audio demo``: the whole project on a folder of recordings, every result written.

:func:`run_demo` extracts the frame table and per-file summary, codes the first recording
(its report as JSON and Markdown) and draws every figure (:mod:`sfm_audio.figures`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import defaults
from ._errors import AudioFileError, ParameterError, SfmError
from .validate import int_at_least

__all__ = ["default_data_dir", "Demo", "run_demo"]


def _write_text(path: Path, text: str) -> None:
    from ._files import atomic_path

    with atomic_path(path, suffix=path.suffix) as tmp:
        tmp.write_text(text, encoding="utf-8")


def default_data_dir() -> Path:
    """The bundled recordings, shipped inside the package (:func:`sfm_audio.examples.data_dir`)."""
    from .examples import data_dir

    return data_dir()


@dataclass(frozen=True)
class Demo:
    """What :func:`run_demo` did.

    Attributes
    ----------
    data_dir : Path
        The folder of recordings used.
    inputs : list of str
        The readable recordings found there, in path order; the first that can be coded is
        the one the single-file figures and the coding report show.
    written : list of (Path, str)
        Each file written, with one line saying what it holds.
    seconds : float
        Wall time of the run.
    """

    data_dir: Path
    inputs: list[str]
    written: list[tuple[Path, str]]
    seconds: float


def run_demo(
    outdir: str | Path = "sfm_demo",
    *,
    data_dir: str | Path | None = None,
    block: int = defaults.FIGURE_BLOCK,
    on_skip: Callable[[str], None] | None = None,
) -> Demo:
    """Run the whole project on a folder of recordings and write every result to ``outdir``.

    Writes the frame table and per-file summary (CSV), every figure (PNG), and the
    transform-coding report of the first recording (JSON and a Markdown table).

    Parameters
    ----------
    outdir : str or Path
        Output folder, created if missing.
    data_dir : str, Path or None
        Folder of recordings; by default the bundled ones (:func:`default_data_dir`).
    block : int
        Block size of the eigen and rate–distortion figures.
    on_skip : callable, optional
        Called with one line for each file that could not be read, could not be coded or
        measured, and for each figure undefined for the recording shown (the run goes on).

    Returns
    -------
    Demo

    Raises
    ------
    ParameterError
        A missing data folder, an output path that is not a folder, or a bad block size.
    AudioFileError
        No readable recording in the data folder.
    """
    from .coding import lossless_file, run_experiment
    from .coding.markdown import markdown_report
    from .corpus import expand_inputs, extract_files
    from .features import ExtractOptions
    from .figures import render

    t0 = time.perf_counter()
    block = int_at_least(block, "block", 2, "an integer >= 2")
    data = Path(data_dir) if data_dir is not None else default_data_dir()
    if not data.is_dir():
        raise ParameterError(f"data folder {str(data)!r} does not exist", param="data_dir")
    inputs, failures = expand_inputs([str(data)])
    if not inputs:
        raise AudioFileError(failures[0].error if failures else f"{data}: no audio files")
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise ParameterError(f"{str(out)!r} exists and is not a folder", param="outdir")
    out.mkdir(parents=True, exist_ok=True)
    written: list[tuple[Path, str]] = []

    skip = on_skip or (lambda line: None)
    options = ExtractOptions()
    unreadable: set[str] = set()
    for name, summary, what in (("frames.csv", False, "frame table (one row per frame)"),
                                ("summary.csv", True, "summary (one row per file)")):
        result = extract_files(inputs, out / name, options, summary=summary)
        for f in result.failed:
            if f.file not in unreadable:  # each file's reason once, not once per table
                unreadable.add(f.file)
                skip(f"skipped: {f.error}")
        if not result.output_written:
            raise AudioFileError(f"no file in {data} could be read")
        written.append((out / name, what))
    inputs = [path for path in inputs if path not in unreadable]

    # the report and the single-file figures show the first recording that can be coded
    # (a silent or too short one cannot: it is named and the next one taken); when none
    # can, the extractor's figures of the first recording are drawn all the same
    blocks = tuple(sorted(set(defaults.GAIN_BLOCKS) | {block}))
    main_report, main_file = None, inputs[0]
    for path in inputs:
        try:
            main_report = run_experiment(path, blocks=blocks, rates=defaults.RATES,
                                         transforms=defaults.TRANSFORMS).report
            main_file = path
            break
        except SfmError as exc:
            skip(f"not coded: {exc}")
    # the other recordings only need their lossless section, not the coders
    lossless_inputs, reports = [], []
    for path in inputs:
        try:
            reports.append(main_report.lossless if main_report is not None
                           and path == main_file else lossless_file(path))
            lossless_inputs.append(path)
        except SfmError as exc:
            skip(f"not in lossless.png: {exc}")
    if main_report is not None:
        json_path, md_path = out / "coding.json", out / "coding.md"
        _write_text(json_path,
                    json.dumps(main_report.to_dict(), indent=2, allow_nan=False) + "\n")
        written.append((json_path,
                        f"transform-coding report of {Path(main_file).name} (JSON)"))
        _write_text(md_path, markdown_report(main_report))
        written.append((md_path, "the same report as Markdown tables"))

    figures: list[tuple[str, list[str], dict[str, Any], str]] = [
        ("flatness", [main_file], {}, "spectrogram with SFM, dB and tonality"),
        ("bands", [main_file], {}, "MPEG-7 band flatness heat map"),
    ]
    if main_report is not None:
        figures += [
            ("eigen", [main_file], {"blocks": (block,), "report": main_report},
             f"KLT eigenvalues and water levels, N = {block}"),
            ("rd", [main_file], {"blocks": (block,), "report": main_report},
             "rate–distortion, theory and measured"),
            ("gain", [main_file], {"blocks": blocks, "report": main_report},
             "coding gain against block size"),
        ]
    if lossless_inputs:
        figures.append(("lossless", lossless_inputs, {"reports": reports},
                        "FLAC against the lossless estimate"))
    if main_report is not None:
        figures += [
            ("prediction", [main_file], {"blocks": blocks, "report": main_report},
             "prediction gain against order beside coding gains; residual and signal "
             "spectra"),
            ("duality", [main_file], {"report": main_report},
             "bits of each frame against water-filling and against the frame's flatness"),
        ]
    # the duality as the extractor predicts it, judged against y = x (no coded coefficient
    # used): the demo's independent test of "flat spectra compress less"
    figures.append(("frame-gains", [main_file], {},
                    "bits of each frame of the adaptive coder, measured against predicted "
                    "from the extractor's band levels alone"))
    for kind, files, extra, what in figures:
        try:
            path = render(files, kind, out / f"{kind}.png", dpi=100.0, **extra)
        except SfmError as exc:  # undefined for this recording (the duality of a click)
            skip(f"no {kind}.png: {exc}")
            continue
        written.append((path, what))
    return Demo(data_dir=data, inputs=list(inputs), written=written,
                seconds=time.perf_counter() - t0)

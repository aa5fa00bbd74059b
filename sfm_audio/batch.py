"""Corpus runs, under their old name: everything here now lives in :mod:`sfm_audio.corpus`.

Kept so that ``from sfm_audio.batch import extract_files`` (and the other public names) goes on
working; new code imports from :mod:`sfm_audio.corpus`, whose docstring explains where jobs
run and how resuming works.
"""

from __future__ import annotations

from .corpus import (
    Failure,
    RunReport,
    default_jobs,
    expand_inputs,
    extract_file,
    extract_files,
    process_pool,
    staging_dir,
    tune_malloc,
    write_errors,
)

__all__ = [
    "Failure",
    "RunReport",
    "default_jobs",
    "expand_inputs",
    "extract_file",
    "extract_files",
    "process_pool",
    "staging_dir",
    "tune_malloc",
    "write_errors",
]

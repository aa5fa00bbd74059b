"""Wall time and peak memory of a command, for the benchmark scripts.

Peak RSS is read by a small wrapper process around the command: a child forked from a large
benchmark process would otherwise report the parent's pages it inherited before exec.
"""

from __future__ import annotations

import json
import subprocess
import sys

_WRAPPER = (
    "import json, resource, subprocess, sys, time; t = time.perf_counter(); "
    "r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
    "print(json.dumps({'rc': r.returncode, 'wall': time.perf_counter() - t, "
    "'peak_kb': resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "
    "'stdout': r.stdout, 'stderr': r.stderr}))"
)


def measure(cmd: list[str]) -> dict:
    """Run ``cmd``; return ``rc``, ``wall`` (s), ``peak_mb``, ``stdout`` and ``stderr``."""
    out = subprocess.run([sys.executable, "-c", _WRAPPER, *cmd], capture_output=True,
                         text=True, check=True).stdout
    result = json.loads(out)
    result["peak_mb"] = result.pop("peak_kb") / 1024
    return result


def positive(kind: type):
    """An argparse ``type`` accepting numbers of ``kind`` above zero, with a one-line error."""
    import argparse

    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not value > 0:  # also refuses NaN
            raise argparse.ArgumentTypeError(f"{text} must be above 0")
        return value

    return parse

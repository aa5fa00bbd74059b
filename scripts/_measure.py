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


def measure_tree(cmd: list[str], interval: float = 0.1) -> dict:
    """Run ``cmd`` and follow its whole process tree (workers of a pool included, which
    ``getrusage`` does not see once a fork server has started them).

    Returns ``rc``, ``wall`` (s), ``cpu`` (user + system seconds summed over every process
    of the tree, each as last sampled), ``peak_mb`` (largest resident size of one process),
    ``peak_sum_mb`` (largest proportional set size summed over the tree at one sample: the
    memory the tree really holds, pages shared between a fork server and its workers counted
    once), ``processes`` (how many were seen), ``stdout`` and ``stderr``. Sampled every
    ``interval`` seconds.
    """
    import tempfile
    import time

    import psutil

    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        proc = psutil.Popen(cmd, stdout=out, stderr=err)
        cpu: dict[int, float] = {}
        peak = peak_sum = 0
        while True:
            total = 0
            try:
                tree = [proc, *proc.children(recursive=True)]
            except psutil.NoSuchProcess:
                tree = []
            for p in tree:
                try:
                    with p.oneshot():
                        t = p.cpu_times()
                        rss = p.memory_info().rss
                        pss = getattr(p.memory_full_info(), "pss", rss)
                except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                    continue
                cpu[p.pid] = t.user + t.system
                peak = max(peak, rss)
                total += pss
            peak_sum = max(peak_sum, total)
            if proc.poll() is not None:
                break
            time.sleep(interval)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        return {"rc": proc.returncode, "wall": wall, "cpu": sum(cpu.values()),
                "peak_mb": peak / 2**20, "peak_sum_mb": peak_sum / 2**20,
                "processes": len(cpu), "stdout": out.read().decode(),
                "stderr": err.read().decode()}


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

"""threads: one_blas_thread limits every BLAS/OpenMP pool, those loaded after its first use too."""

import json
import subprocess
import sys

SCRIPT = """
import json, numpy
from threadpoolctl import threadpool_info
from sfm_audio.threads import one_blas_thread
seen = []
with one_blas_thread():
    seen.append([p["num_threads"] for p in threadpool_info()])
import scipy.linalg  # scipy's own OpenBLAS is loaded only now
with one_blas_thread():
    seen.append([(p["filepath"], p["num_threads"]) for p in threadpool_info()])
seen.append([(p["filepath"], p["num_threads"]) for p in threadpool_info()])
print(json.dumps(seen))
"""


def test_every_pool_is_limited_including_those_loaded_later():
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env={"OPENBLAS_NUM_THREADS": "2", "PATH": ""}, check=True)
    first, later, outside = json.loads(done.stdout)
    assert first and set(first) == {1}
    assert {n for _, n in later} == {1}
    # the pools loaded since the first use were found (and are back to 2 outside)
    assert {path for path, _ in later} == {path for path, _ in outside}
    assert len(later) > len(first) and {n for _, n in outside} == {2}

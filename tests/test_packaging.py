"""The declared dependencies are exactly what the package imports (issue 11); the bundled
recordings are package data, so an installed wheel has them (issue 22)."""

from __future__ import annotations

import ast
import fnmatch
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sfm_audio import ParameterError

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "sfm_audio"

#: import name -> distribution name, where they differ
DISTRIBUTION = {"distributed": "dask", "yaml": "pyyaml"}


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[<>=!~ ;]", r, maxsplit=1)[0].lower() for r in requirements}


def _third_party_imports() -> dict[str, set[str]]:
    """Top-level third-party modules imported anywhere under sfm_audio/, with the importers."""
    found: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top != "sfm_audio":
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_import_is_declared():
    project = _project()
    runtime = _names(project["dependencies"])
    extras = set().union(*(_names(v) for v in project["optional-dependencies"].values()))
    for module, where in _third_party_imports().items():
        dist = DISTRIBUTION.get(module, module).lower()
        assert dist in runtime | extras, f"{module} (imported in {sorted(where)}) is not declared"


def test_runtime_dependencies_are_imported():
    imported = {DISTRIBUTION.get(m, m).lower() for m in _third_party_imports()}
    for dist in _names(_project()["dependencies"]):
        assert dist in imported, f"{dist} is declared but sfm_audio never imports it"


def test_librosa_is_only_the_test_and_bench_reference():
    project = _project()
    assert "librosa" not in _names(project["dependencies"])
    assert "librosa" in _names(project["optional-dependencies"]["test"])
    assert "librosa" in _names(project["optional-dependencies"]["bench"])
    assert "librosa" not in _third_party_imports()


def test_numpy_floor_allows_rfft_out():
    # stft.py calls np.fft.rfft(..., out=), new in numpy 2.0
    assert "np.fft.rfft(" in (PACKAGE / "stft.py").read_text()
    numpy = [r for r in _project()["dependencies"] if r.startswith("numpy")]
    assert numpy == ["numpy>=2.0"]


def test_cli_runs_without_importing_librosa_or_numba(speech, tmp_path):
    code = (
        "import sys; from sfm_audio.cli import main\n"
        f"try:\n    main(['extract', {str(speech)!r}, '-o', {str(tmp_path / 'o.csv')!r}, '-q'])\n"
        "except SystemExit as e:\n    assert not e.code, e.code\n"
        "bad = sorted(m for m in ('librosa', 'numba', 'llvmlite') if m in sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    assert (tmp_path / "o.csv").stat().st_size > 0


def test_bundled_recordings_are_declared_package_data():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["sfm_audio"]
    bundled = [p for p in (PACKAGE / "data").iterdir() if not p.name.startswith(".")]
    assert any(p.suffix == ".wav" for p in bundled)
    for path in bundled:
        relative = path.relative_to(PACKAGE).as_posix()
        assert any(fnmatch.fnmatch(relative, glob) for glob in declared), \
            f"{relative} is not declared in [tool.setuptools.package-data]"
        if path.suffix == ".wav":  # each recording ships with its licence
            assert path.with_suffix(".COPYING").is_file(), path


def test_bundled_recordings_are_found_through_the_package():
    from sfm_audio import demo, examples

    assert examples.data_dir() == PACKAGE / "data"
    assert demo.default_data_dir() == examples.data_dir()
    for name in examples.EXAMPLES:
        assert examples.example(name).is_file()
    with pytest.raises(ParameterError, match="unknown example 'trumpet'"):
        examples.example("trumpet")

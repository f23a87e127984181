"""A regular (non-editable) install puts everything under the quantrtl namespace."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_installs_only_the_quantrtl_namespace(tmp_path):
    source = tmp_path / "src"  # a copy: setuptools leaves build/ in the tree it builds
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "report", "*.egg-info", "__pycache__"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp_path), str(source)], check=True)
    (wheel,) = tmp_path.glob("quantrtl-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"quantrtl", wheel.name.split("-py")[0] +
                                                ".dist-info"}
    for layer in ("golden", "hw", "sim", "synth"):
        for source in (ROOT / layer).rglob("*.py"):
            assert f"quantrtl/{layer}/{source.relative_to(ROOT / layer).as_posix()}" in names
    for package in (ROOT / "quantrtl").rglob("__init__.py"):
        assert f"quantrtl/{package.relative_to(ROOT / 'quantrtl').as_posix()}" in names

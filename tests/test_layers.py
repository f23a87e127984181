"""The import-layer checker (scripts/check_layers.py): on small made-up trees, each kind of
violation is caught and a clean tree passes; then the real tree."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "check_layers.py"

# A clean mini-package: every rank, relative and absolute imports, one inside a function.
CLEAN = {
    "quantrtl/__init__.py": "from quantrtl.base.tools import run as _run\n",
    "quantrtl/base/__init__.py": "",
    "quantrtl/base/tools.py": "def run():\n    pass\n",
    "quantrtl/formats/__init__.py": "",
    "quantrtl/formats/fmt.py": "import quantrtl.formats.other\nfrom . import other\n",
    "quantrtl/formats/other.py": "",
    "golden/__init__.py": "",
    "golden/ref.py": "from quantrtl.formats.fmt import *\nfrom .util import helper\n",
    "golden/util.py": "def helper():\n    from quantrtl.base import tools\n",
    "hw/__init__.py": "",
    "hw/mac.py": "import amaranth.hdl\nfrom amaranth.lib import wiring\n"
                 "from ..formats import fmt\n",
    "sim/__init__.py": "",
    "sim/bench.py": "from quantrtl.golden.ref import x\nfrom quantrtl.hw import mac\n",
    "synth/__init__.py": "",
    "synth/flow.py": "import quantrtl.hw.mac as m\n",
    "quantrtl/designs/__init__.py": "from quantrtl.sim.bench import b\n"
                                    "from quantrtl.synth import flow\n",
    "quantrtl/rigor/__init__.py": "",
    "quantrtl/rigor/table.py": "from quantrtl.designs import build\n",
    "quantrtl/report.py": "from quantrtl.rigor.table import t\n",
    "quantrtl/cli.py": "def main():\n    from quantrtl import report, designs\n",
}


def check(tmp_path, **changes):
    for name, text in {**CLEAN, **changes}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    run = subprocess.run([sys.executable, str(SCRIPT), "--root", str(tmp_path)],
                         capture_output=True, text=True, timeout=60)
    return run.returncode, run.stdout.splitlines()


def test_a_clean_tree_passes(tmp_path):
    code, out = check(tmp_path)
    assert (code, out) == (0, ["20 modules, 15 edges, no upward edge, no cycle"])


def test_an_upward_import_inside_a_function_is_caught(tmp_path):
    code, out = check(tmp_path, **{
        "golden/util.py": "def helper():\n    from quantrtl.synth import flow\n"})
    assert (code, out) == (1, ["quantrtl.golden.util -> quantrtl.synth.flow: upward (rank 1 -> 2)"])


def test_the_package_init_importing_the_cli_is_upward(tmp_path):
    code, out = check(tmp_path, **{"quantrtl/__init__.py": "import quantrtl.cli\n"})
    assert code == 1
    assert out == ["quantrtl -> quantrtl.cli: upward (rank 0 -> 6)"]


@pytest.mark.parametrize("name, text, line", [
    ("hw/mac.py", "from ..golden import ref\n",
     "quantrtl.hw.mac -> quantrtl.golden.ref: sideways (rank 1, quantrtl.hw -> quantrtl.golden)"),
    ("golden/ref.py", "from quantrtl.hw.mac import MAC\n",
     "quantrtl.golden.ref -> quantrtl.hw.mac: sideways (rank 1, quantrtl.golden -> quantrtl.hw)"),
    ("synth/flow.py", "from quantrtl.sim import bench\n",
     "quantrtl.synth.flow -> quantrtl.sim.bench: sideways (rank 2, quantrtl.synth -> "
     "quantrtl.sim)"),
    ("quantrtl/formats/fmt.py", "from quantrtl.base import tools\n",
     "quantrtl.formats.fmt -> quantrtl.base.tools: sideways (rank 0, quantrtl.formats -> "
     "quantrtl.base)"),
    ("quantrtl/rigor/lint.py", "from .. import report\n",
     "quantrtl.rigor.lint -> quantrtl.report: sideways (rank 4, quantrtl.rigor -> quantrtl)"),
])
def test_incomparable_packages_of_one_rank(tmp_path, name, text, line):
    assert check(tmp_path, **{name: text}) == (1, [line])


def test_a_cycle_within_a_package_is_caught(tmp_path):
    code, out = check(tmp_path, **{"golden/util.py": "def helper():\n    from . import ref\n"})
    assert (code, out) == (1, ["cycle: quantrtl.golden.ref -> quantrtl.golden.util -> "
                               "quantrtl.golden.ref"])


def test_private_names_across_modules(tmp_path):
    code, out = check(tmp_path, **{
        "sim/bench.py": "from quantrtl.golden.ref import _grid, __version__\n"
                        "from .scoreboard import _own_package_too\n",
        "sim/scoreboard.py": "_own_package_too = 1\n",
    })
    assert (code, out) == (1, ["quantrtl.sim.bench -> quantrtl.golden.ref: private name _grid",
                               "quantrtl.sim.bench -> quantrtl.sim.scoreboard: private name "
                               "_own_package_too"])


def test_private_amaranth_api(tmp_path):
    code, out = check(tmp_path, **{
        "hw/mac.py": "from amaranth.hdl._ir import PortDirection\n",
        "hw/pe.py": "from amaranth.hdl import Signal, _ast\n",
        "hw/array.py": "import amaranth._unused\n",
        "hw/ovp.py": "def f(self):\n    self._MustUse__silence = True\n",
    })
    assert code == 1
    assert out == ["quantrtl.hw.array: private Amaranth API amaranth._unused",
                   "quantrtl.hw.mac: private Amaranth API amaranth.hdl._ir",
                   "quantrtl.hw.ovp: private Amaranth API _MustUse__silence",
                   "quantrtl.hw.pe: private Amaranth API amaranth.hdl._ast"]


def test_an_unranked_module_is_reported(tmp_path):
    assert check(tmp_path, **{"quantrtl/extra.py": ""}) == (1, ["quantrtl.extra: no rank"])


def test_the_real_tree_keeps_its_layers():
    run = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.endswith("no upward edge, no cycle\n")

"""The user docs: the example in docs/examples runs and its hand-computed checks hold."""

import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "my_accelerator.py"


def _load_example():
    spec = importlib.util.spec_from_file_location("docs_example_my_accelerator", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_checks_hold():
    example = _load_example()
    checks = example.simulate()
    assert len(checks) == 2 * len(example.STEPS)
    wrong = [row for row in checks if row[2] != row[3]]
    assert not wrong, f"(cycle, port, got, expected): {wrong}"


def test_example_runs_as_a_script():
    done = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all checks passed" in done.stdout

"""The user docs: README.md stays short and links only files that exist, no doc points
outside the repository, and the example in docs/examples runs and its checks hold."""

import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from quantrtl.designs import build

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


README = ROOT / "README.md"
USER_DOCS = [README, *sorted((ROOT / "docs").rglob("*.md"))]
_LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


def _local_links(path: Path) -> list[str]:
    return [t for t in _LINK.findall(path.read_text()) if "://" not in t]


def test_readme_is_short():
    lines = README.read_text().splitlines()
    assert len(lines) <= 250, f"README.md has {len(lines)} lines (at most 250)"


def test_readme_names_the_commands_ci_runs():
    text = README.read_text()
    for command in ("make setup", "make report", "make test"):
        assert command in text


def test_readme_links_every_doc_and_each_exists():
    targets = _local_links(README)
    for name in ("formats.md", "architecture.md", "verification.md", "results.md"):
        assert f"docs/{name}" in targets, f"README does not link docs/{name}"
    missing = [t for t in targets if not (ROOT / t).exists()]
    assert not missing, f"README links to missing files: {missing}"


def test_links_between_docs_exist():
    missing = [(doc.name, t) for doc in USER_DOCS[1:] for t in _local_links(doc)
               if not (doc.parent / t).exists()]
    assert not missing, f"(doc, link) to missing files: {missing}"


def test_user_docs_are_self_contained():
    sources = [p for layer in ("golden", "hw", "sim", "synth", "quantrtl")
               for p in (ROOT / layer).rglob("*.py")]
    offenders = [str(p.relative_to(ROOT)) for p in USER_DOCS + [EXAMPLE] + sources
                 if "shared/spec" in p.read_text()]
    assert not offenders, f"user docs point outside the repository: {offenders}"


# --- docs/examples/ws_array_tb.v: a plain Verilog testbench written from the datasheet ----

WS_TB = ROOT / "docs" / "examples" / "ws_array_tb.v"
WS_R = WS_C = 4
WS_LATENCY = 9             # the datasheet's latency of the 4x4 WS array
WS_TILE_ROWS = 2 * WS_R + WS_C  # rows of A per weight tile for full rate (2R + C)


def _lanes(values, bits):
    return sum((int(v) & ((1 << bits) - 1)) << (bits * k) for k, v in enumerate(values))


def _signed_lanes(word, count, bits):
    out = []
    for k in range(count):
        v = (word >> (bits * k)) & ((1 << bits) - 1)
        out.append(v - (1 << bits) if v >> (bits - 1) else v)
    return out


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="Icarus not installed")
@pytest.mark.parametrize("mode", ["-g2005", "-g2012"])
def test_ws_example_testbench_matches_numpy(mode, tmp_path):
    """Weight tiles serving 12, 11, 16, 5 and 12 rows of A: every result equals numpy's
    A @ B, arrives exactly the datasheet's latency after its row, and the swaps are
    accepted no sooner than 2R + C cycles apart (full rate from 12 rows per tile on)."""
    seed = 20261130
    rng = np.random.default_rng(seed)
    tile_rows = [12, 11, 16, 5, 12]
    weights = [rng.integers(-128, 128, (WS_R, WS_C)) for _ in tile_rows]
    acts = [rng.integers(-128, 128, (n, WS_R)) for n in tile_rows]
    (tmp_path / "w.hex").write_text("".join(f"{_lanes(row, 8):08x}\n"
                                            for b in weights for row in b))
    (tmp_path / "a.hex").write_text("".join(
        f"{(int(m == 0) << 32) | _lanes(row, 8):09x}\n"
        for a in acts for m, row in enumerate(a)))
    design = build("systolic-array", ["dataflow=ws"])
    (tmp_path / "unit.v").write_text(design.rtl.text)
    na = sum(tile_rows)
    subprocess.run(["iverilog", mode, "-o", "ws_tb", str(WS_TB), "unit.v"], cwd=tmp_path,
                   check=True)
    done = subprocess.run(["vvp", "-n", "ws_tb", "+weights=w.hex", "+rows=a.hex",
                           f"+nw={WS_R * len(tile_rows)}", f"+na={na}"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    lines = done.stdout.splitlines()
    accepted = [int(x.split()[1]) for x in lines if x.startswith("A ")]
    results = [(int(x.split()[1]), int(x.split()[2], 16)) for x in lines
               if x.startswith("C ")]
    assert any(x.startswith("DONE") for x in lines), done.stdout[-2000:]
    expected = [row for a, b in zip(acts, weights) for row in (a @ b).tolist()]
    got = [_signed_lanes(word, WS_C, 18) for _, word in results]
    assert got == expected, f"seed {seed}"
    assert [c - a for a, (c, _) in zip(accepted, results)] == [WS_LATENCY] * na
    swaps = [accepted[i] for i in np.cumsum([0, *tile_rows[:-1]])]
    gaps = [b - a for a, b in zip(swaps, swaps[1:])]
    assert gaps == [max(n, WS_TILE_ROWS) for n in tile_rows[:-1]], gaps
    # between swaps a row is accepted every cycle
    assert all(b - a == 1 for a, b in zip(accepted, accepted[1:])
               if b not in swaps), accepted

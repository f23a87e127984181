"""The user docs: README.md stays short and links only files that exist, no doc points
outside the repository, and the example in docs/examples runs and its checks hold."""

import importlib.util
import re
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

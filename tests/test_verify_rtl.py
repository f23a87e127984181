"""``quantrtl verify DESIGN params --rtl FILE.v``: a user's Verilog against the design's bench.

A hand-written INT2 MAC (ports declared ANSI-style, two to a line) passes the exhaustive
bench; the same file with one bug fails it (exit 1, the first mismatch named); the generated
Verilog under another module name passes. A file whose ports differ in name, direction or
width, a missing file, a folder, a binary file and text Yosys cannot read are each one
``quantrtl: error:`` line and exit 2, before any simulation. Before ``--rtl`` existed, each
command here was an "unrecognized arguments" error.
"""

import pytest

from quantrtl.cli import main
from quantrtl.designs import build

PARAMS = ["int-mac", "a=int2", "b=int2", "acc=5"]

HAND_WRITTEN = """\
// an INT2 x INT2 MAC with a 5-bit wrapping accumulator, written by hand
module my_mac (
  input  wire       clk, rst,
  input  wire [1:0] a, b,
  input  wire       valid, clear,
  output reg  [4:0] acc
);
  wire signed [3:0] product = $signed(a) * $signed(b);
  wire [4:0] base = clear ? 5'd0 : acc;
  initial acc = 5'd0;
  always @(posedge clk)
    if (rst) acc <= 5'd0;
    else if (valid) acc <= base + {product[3], product};
    else if (clear) acc <= 5'd0;
endmodule
"""


@pytest.fixture(autouse=True)
def own_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("QUANTRTL_CACHE", str(tmp_path / "cache"))


def _verify(path, capsys, *extra):
    status = main(["verify", *PARAMS, "--rtl", str(path), *extra])
    return status, capsys.readouterr()


def test_a_hand_written_mac_passes_the_exhaustive_bench(tmp_path, capsys):
    path = tmp_path / "mine.v"
    path.write_text(HAND_WRITTEN)
    status, out = _verify(path, capsys)
    assert status == 0, out.err
    assert out.out.startswith(f"PASS {path} as int-mac a=int2 b=int2 acc=5")
    assert "(exhaustive, seed 1)" in out.out


def test_options_may_come_first(tmp_path, capsys):
    path = tmp_path / "mine.v"
    path.write_text(HAND_WRITTEN)
    assert main(["verify", "--rtl", str(path), "--mode", "random", "--count", "50",
                 *PARAMS]) == 0
    assert "(random, seed 1)" in capsys.readouterr().out


@pytest.mark.parametrize("bug", [("base + {product[3], product}",
                                  "base - {product[3], product}"),
                                 ("{product[3], product}", "{1'b0, product}")])
def test_a_bug_in_the_hand_written_mac_fails(tmp_path, capsys, bug):
    path = tmp_path / "mine.v"
    path.write_text(HAND_WRITTEN.replace(*bug))
    status, out = _verify(path, capsys)
    assert status == 1
    assert "\nquantrtl: FAIL: my_mac: 1 of 1 bench tests failed" in out.err, out.err
    assert "got " in out.err and "expected " in out.err and "log: " in out.err


def test_the_generated_verilog_under_another_name_passes_and_an_edit_fails(tmp_path, capsys):
    rtl = build(PARAMS[0], PARAMS[1:]).rtl
    path = tmp_path / "edited.v"
    path.write_text(rtl.text.replace("module int_mac(", "module int_mac_copy("))
    status, out = _verify(path, capsys)
    assert status == 0, out.err
    broken = rtl.text.replace("assign \\$signal$10  = clear ? 5'h00 : acc;",
                              "assign \\$signal$10  = acc;")
    assert broken != rtl.text
    path.write_text(broken)
    status, out = _verify(path, capsys)
    assert status == 1 and "quantrtl: FAIL: int_mac:" in out.err, out.err


@pytest.mark.parametrize("edit, words", [
    (("valid, clear", "valid, clr"), ["clear missing (input [1])", "clr not in int-mac"]),
    (("output reg  [4:0] acc", "output reg  [5:0] acc"),
     ["acc is output [6], expected output [5]"]),
    (("input  wire       valid, clear,\n  output reg  [4:0] acc",
      "input  wire       valid, clear, acc_in,\n  output reg  [4:0] acc"),
     ["acc_in not in int-mac (input [1])"]),
])
def test_ports_that_differ_are_one_error_line(tmp_path, capsys, edit, words):
    path = tmp_path / "mine.v"
    path.write_text(HAND_WRITTEN.replace(*edit))
    status, out = _verify(path, capsys)
    assert status == 2
    assert out.err.count("\n") == 1 and out.err.startswith(
        f"quantrtl: error: --rtl {path}: module my_mac's ports differ from int-mac"), out.err
    for word in words:
        assert word in out.err, out.err
    assert not (tmp_path / "cache" / "sim").exists()  # nothing simulated


@pytest.mark.parametrize("what, make, words", [
    ("missing", lambda p: None, "no such file"),
    ("folder", lambda p: p.mkdir(), "is a folder"),
    ("binary", lambda p: p.write_bytes(b"\xff\xfe\x00\x81" * 10), "is not a text file"),
    ("no module", lambda p: p.write_text("// nothing here\n"), "has no Verilog module"),
    ("syntax", lambda p: p.write_text("module my_mac(input a; endmodule\n"),
     "Yosys cannot read it"),
])
def test_a_bad_file_is_one_error_line(tmp_path, capsys, what, make, words):
    path = tmp_path / "mine.v"
    make(path)
    status, out = _verify(path, capsys)
    assert status == 2, out
    assert out.err.startswith(f"quantrtl: error: --rtl {path}") and out.err.count("\n") == 1
    assert words in out.err, out.err
    assert out.out == ""


def test_rtl_and_post_synth_exclude_each_other(tmp_path, capsys):
    path = tmp_path / "mine.v"
    path.write_text(HAND_WRITTEN)
    status, out = _verify(path, capsys, "--post-synth", "ice40-up5k")
    assert status == 2 and "not allowed with argument" in out.err


def test_batch_takes_a_file_with_one_port_per_declaration(tmp_path, capsys):
    rtl = build(PARAMS[0], PARAMS[1:]).rtl
    copy = tmp_path / "copy.v"
    copy.write_text(rtl.text)
    status, out = _verify(copy, capsys, "--batch")
    assert status == 0, out.err
    mine = tmp_path / "mine.v"
    mine.write_text(HAND_WRITTEN)  # `input wire [1:0] a, b`: two ports in one declaration
    status, out = _verify(mine, capsys, "--batch")
    assert status == 2 and "with --batch needs one port per input/output declaration" \
        in out.err and out.err.count("\n") == 1


def test_a_mac_that_ignores_clear_on_an_idle_cycle_fails(tmp_path, capsys):
    """The exhaustive bench ends with a clear without valid: dropping that branch is caught
    (before the fixed cycles existed, the INT2 bench's random clears never hit an idle
    cycle and this MAC passed)."""
    path = tmp_path / "mine.v"
    path.write_text(HAND_WRITTEN.replace("    else if (clear) acc <= 5'd0;\n", ""))
    status, out = _verify(path, capsys)
    assert status == 1, out
    assert "FAIL" in out.err

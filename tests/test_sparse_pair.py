"""The 2:4 explore pairs ``sparse24int8xint8`` and ``sparse24int4xint8``: their lanes give,
on pe=sparse24's golden kind, exactly the product of their quantized values (K a multiple
of 4 or padded); pruned weights keep at most two of every four along K, the two golden
keeps; storage bits; bad input; and a real layer's tile through the generated
``systolic-array pe=sparse24`` on Icarus (explore's own ``run_tile``)."""

from __future__ import annotations

import pytest
import torch

from quantrtl.designs import array_pe, build, get_pair
from quantrtl.explore.cost import proxy_costs
from quantrtl.explore.model import Linear
from quantrtl.explore.quantize import Quantizer
from quantrtl.explore.tile import run_tile
from quantrtl.golden import sparse

PAIRS = ["sparse24int8xint8", "sparse24int4xint8"]


def _layer(seed: int, n: int, k: int, tokens: int):
    gen = torch.Generator().manual_seed(seed)
    w = torch.randn(n, k, generator=gen, dtype=torch.float64) * k ** -0.5
    x = torch.randn(tokens, k, generator=gen, dtype=torch.float64)
    return w, x


@pytest.mark.parametrize("name", PAIRS)
@pytest.mark.parametrize("k, seed", [(16, 1), (64, 2), (384, 3), (22, 4), (5, 5)])
def test_lanes_give_the_exact_product(name, k, seed):
    pair = get_pair(name)
    w, x = _layer(seed, 6, k, 5)
    w_values, scale, w_codes = pair.quantize_weights(w)
    x_values, x_codes = pair.quantize_acts(x, pair.calibrate_acts(x))
    a, b = pair.lanes(x_codes, w_codes)
    steps = -(-k // sparse.GROUP)  # a K that is not a multiple of 4 is padded
    assert a.shape == (5, steps) and b.shape == (steps, 6), f"seed {seed}"
    _, kind = array_pe({**dict(pair.array), "rows": 2, "cols": 2})
    assert torch.equal(kind.product(a, b, kind.modes[0]).to(torch.float64),
                       pair.acc_scale * (x_values @ w_values.T)), f"seed {seed}"


@pytest.mark.parametrize("name, bits", [("sparse24int8xint8", 8), ("sparse24int4xint8", 4)])
def test_weights_are_pruned_then_quantized_per_channel(name, bits):
    seed = 7
    w, _ = _layer(seed, 8, 96, 1)
    values, scale, codes = get_pair(name).quantize_weights(w)
    assert values.shape == codes.shape == w.shape and scale.shape == (8, 1)
    groups = (codes != 0).reshape(8, -1, sparse.GROUP)
    assert int(groups.sum(-1).max()) <= sparse.KEEP, f"seed {seed}"
    kept = sparse.keep_mask(w, axis=1)
    assert not bool(((codes != 0) & ~kept).any()), f"seed {seed}"  # only golden's keeps
    pruned = sparse.prune(w, axis=1)
    qmax = (1 << (bits - 1)) - 1
    assert torch.equal(scale, pruned.abs().amax(dim=1, keepdim=True) / qmax)
    assert torch.equal(values, codes.to(torch.float64))
    assert int(codes.abs().max()) == qmax
    assert bool(((values * scale - pruned).abs() <= scale / 2 * (1 + 1e-12)).all()), \
        f"seed {seed}"


def test_storage_bits_and_proxy_cost():
    """Two values and two 2-bit positions per four weights; explore's proxy cost reads it."""
    pairs = [get_pair(n) for n in PAIRS]
    assert [p.weight_bits for p in pairs] == [(2 * 8 + 2 * 2) // 4, (2 * 4 + 2 * 2) // 4]
    costs = proxy_costs(pairs)
    assert costs["sparse24int8xint8"] == {"proxy": 40.0, "weight_bits": 5, "act_bits": 8}
    assert costs["sparse24int4xint8"] == {"proxy": 24.0, "weight_bits": 3, "act_bits": 8}
    for p, bits in zip(pairs, (8, 4)):
        build("systolic-array", {**dict(p.array), "rows": 2, "cols": 2, "max_k": 4})
        assert dict(p.array) == {"pe": "sparse24", "a": "int8", "b": f"int{bits}"}


@pytest.mark.parametrize("name", PAIRS)
def test_bad_lanes_input(name):
    pair = get_pair(name)
    w, x = _layer(8, 3, 16, 2)
    w_codes = pair.quantize_weights(w)[2]
    _, x_codes = pair.quantize_acts(x, pair.calibrate_acts(x))
    with pytest.raises(ValueError, match="reduction length 12, the weights 16"):
        pair.lanes(x_codes[:, :12], w_codes)
    dense = torch.ones(3, 16, dtype=torch.int64)
    with pytest.raises(ValueError, match="not 2:4 sparse"):
        pair.lanes(x_codes, dense)


@pytest.mark.parametrize("name, k", [("sparse24int8xint8", 40), ("sparse24int4xint8", 30)])
def test_real_tile_on_the_generated_array(name, k):
    """A layer's tile under the pair through ``systolic-array pe=sparse24`` on Icarus, by
    explore's own ``run_tile`` (golden product == the model's quantized product, then every
    result bit-exact in the simulator); K = 30 is padded to 32."""
    w, x = _layer(9, 4, k, 6)
    quantizer = Quantizer([Linear("layer", w.to(torch.float32), torch.zeros(4))],
                          {"layer": x.to(torch.float32)})
    tile = run_tile("layer", get_pair(name), quantizer, 3, 4, simulator="icarus")
    assert tile["bit_exact"] and tile["steps"] == -(-k // 4) and tile["macs"] == 3 * 4 * k
    assert "pe=sparse24" in tile["array"]

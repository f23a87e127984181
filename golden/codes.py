"""Code tensors as the golden models take them: integer bit patterns in a format's range."""

from __future__ import annotations

import torch

__all__ = ["check_codes"]


def check_codes(codes, what: str, lo: int, hi: int) -> torch.Tensor:
    """``codes`` as an int64 tensor; ``ValueError`` naming ``what`` if they are not
    integers or lie outside ``lo..hi``."""
    codes = torch.as_tensor(codes)
    if codes.is_floating_point() or codes.is_complex() or codes.dtype == torch.bool:
        raise ValueError(f"{what} codes must be an integer tensor, got {codes.dtype}")
    codes = codes.to(torch.int64)
    if codes.numel() and (int(codes.min()) < lo or int(codes.max()) > hi):
        raise ValueError(f"{what} codes are {lo}..{hi}")
    return codes

"""Golden models: each format's quantizer, codec and exact integer arithmetic (PyTorch).

Implements ``docs/formats.md`` and never imports ``hw``: benches check the hardware
against these models, so they must not share tables with it.
"""

"""The bottom layer: errors, external tools, the cache and provenance.

Python standard library only; nothing here imports another part of quantrtl, so every layer
(``quantrtl.hw``, ``quantrtl.sim``, ``quantrtl.synth``, the CLI) may import it. Import the
modules themselves: ``quantrtl.base.errors``, ``.tools``, ``.cache``, ``.provenance``.
"""

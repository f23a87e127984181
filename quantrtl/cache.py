"""Compatibility re-export of ``quantrtl.base.cache`` for modules not yet migrated
(``quantrtl.rigor``, ``quantrtl.rigor_table``, ``quantrtl.mutate``); new code imports
``quantrtl.base.cache``."""

from quantrtl.base.cache import atomic_dir, atomic_write, cache_root, content_key

__all__ = ["cache_root", "content_key", "atomic_write", "atomic_dir"]

"""Placeholder: this family registers its designs in a commit of its own."""

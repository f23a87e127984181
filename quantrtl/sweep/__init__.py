"""Design-space sweeps on Dask (``quantrtl sweep``)."""

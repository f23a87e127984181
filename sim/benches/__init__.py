"""cocotb test modules, one per unit family; each reads its configuration with
``sim.drive.bench_config()``."""

"""Open-source synthesis (Yosys) and place-and-route (nextpnr) for area and Fmax."""

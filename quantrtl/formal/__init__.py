"""Golden reference modules for proofs: Verilog written from ``golden/``'s numbers.

``quantrtl prove`` (``quantrtl.rigor.prover``) puts a unit's generated Verilog and its
reference into one Yosys miter. The references, one per kind of unit:

* ``combinational``: a case table of every input code (OVP decoders and encoders);
* ``mac``: a behavioural one-step description, proved by temporal induction (MACs and
  PEs), its operand values from one builder per format family;
* ``step``: an array cell's step (``array-pe``) per PE type; ``ovp_cell``: the OVP cells'
  compositional proof, cut at their edge decoders.

This layer imports ``golden/`` only, never ``hw/``: a proof compares two computations.
"""

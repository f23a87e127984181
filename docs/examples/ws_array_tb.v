// A plain Verilog testbench for the 4x4 weight-stationary INT8 array, written from its
// datasheet (docs/datasheets/ws4x4_int8/datasheet.md):
//
//   quantrtl verilog systolic-array dataflow=ws --out build/ws4x4
//
// Ports and bit ranges used here (from the datasheet):
//   w__payload [31:0]  b[j] = B[k][j] in bits [8j+7:8j]   (one row k of B per transfer)
//   a__payload [32:0]  a[i] = A[m][i] in bits [8i+7:8i],  swap in bit 32
//   c__payload [71:0]  c[j] = C[m][j] in bits [18j+17:18j], signed 18 bits
//   latency 9 cycles from an a transfer to its c row; c is always ready.
// Protocol: w rows 0..3 of a tile in order; the first row of A that uses a tile carries
// swap = 1. a.ready depends on the payload's swap bit, so the payload is presented with
// a.valid and held until the transfer. Reset is synchronous and active-high.
//
// Inputs (plusargs): +weights=FILE (hex, one 32-bit w payload per line, 4 per tile),
// +rows=FILE (hex, one 33-bit a payload per line), +nw=N and +na=N (their line counts).
// Output: one line "A <cycle>" per accepted a row and "C <cycle> <c__payload hex>" per
// result row; "DONE <cycle>" at the end.
//
//   iverilog -o ws_tb docs/examples/ws_array_tb.v build/ws4x4/unit.v
//   vvp -n ws_tb +weights=w.hex +rows=a.hex +nw=8 +na=24

`timescale 1ns/1ps
module ws_array_tb;
  localparam MAX = 4096;
  reg clk = 0;
  reg rst = 1;
  always #5 clk = ~clk;

  reg [31:0] weights [0:MAX-1];
  reg [32:0] rows [0:MAX-1];
  reg [1023:0] wfile, afile;
  integer nw, na, wi = 0, ai = 0, results = 0, cycle = 0;

  reg  [31:0] w__payload = 0;
  reg         w__valid = 0;
  wire        w__ready;
  reg  [32:0] a__payload = 0;
  reg         a__valid = 0;
  wire        a__ready;
  wire [71:0] c__payload;
  wire        c__valid;

  systolic_array dut (
    .clk(clk), .rst(rst),
    .w__payload(w__payload), .w__valid(w__valid), .w__ready(w__ready),
    .a__payload(a__payload), .a__valid(a__valid), .a__ready(a__ready),
    .c__payload(c__payload), .c__valid(c__valid));

  initial begin
    if (!$value$plusargs("weights=%s", wfile) || !$value$plusargs("rows=%s", afile) ||
        !$value$plusargs("nw=%d", nw) || !$value$plusargs("na=%d", na)) begin
      $display("usage: +weights=FILE +rows=FILE +nw=N +na=N");
      $finish;
    end
    $readmemh(wfile, weights);
    $readmemh(afile, rows);
  end

  always @(posedge clk) begin
    cycle <= cycle + 1;
    if (cycle == 2) rst <= 0;  // two edges of reset
    if (!rst) begin
      // w: present the next weight row, move on after each transfer
      if (w__valid && w__ready) wi = wi + 1;
      w__valid <= wi < nw;
      w__payload <= wi < nw ? weights[wi] : 32'd0;
      // a: present the next row of A, move on after each transfer
      if (a__valid && a__ready) begin
        $display("A %0d", cycle);
        ai = ai + 1;
      end
      a__valid <= ai < na;
      a__payload <= ai < na ? rows[ai] : 33'd0;
    end
    if (c__valid) begin
      $display("C %0d %h", cycle, c__payload);
      results = results + 1;
      if (results == na) begin
        $display("DONE %0d", cycle);
        $finish;
      end
    end
    if (cycle > 100 * na + 1000) begin
      $display("TIMEOUT after %0d results", results);
      $finish;
    end
  end
endmodule

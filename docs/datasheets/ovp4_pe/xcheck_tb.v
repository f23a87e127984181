`timescale 1ns/1ps
module xcheck_tb;
  reg clk = 0;
  reg rst = 1;
  reg [3:0] a = 4'd0;
  reg [3:0] a_nb = 4'd0;
  reg clear = 1'd0;
  reg valid = 1'd0;
  reg [3:0] w = 4'd0;
  reg [3:0] w_nb = 4'd0;
  wire [23:0] acc;
  ovp_pe dut (.clk(clk), .rst(rst), .a(a), .a_nb(a_nb), .clear(clear), .valid(valid), .w(w), .w_nb(w_nb), .acc(acc));
  integer cycle = 0;
  integer errors = 0;
  integer seed = 1;
  always #5 clk = ~clk;
  always @(negedge clk) begin
    if ((^acc) === 1'bx) begin errors = errors + 1; $display("X on acc at cycle %0d: %h", cycle, acc); end
    $display("TRACE %0d acc=%h", cycle, acc);
    cycle = cycle + 1;
    if (cycle >= 3) begin
      rst = 0;
      a = $random(seed);
      a_nb = $random(seed);
      clear = $random(seed);
      valid = $random(seed);
      w = $random(seed);
      w_nb = $random(seed);
    end
    if (cycle == 200) begin
      if (errors == 0) $display("XCHECK PASS");
      else $display("XCHECK FAIL %0d", errors);
      $finish;
    end
  end
endmodule

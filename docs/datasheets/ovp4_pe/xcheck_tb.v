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
  integer xcheck_cycle = 0;
  integer xcheck_errors = 0;
  reg [31:0] xcheck_state = 1;
  // xorshift32: the next random word (the argument is unused)
  function [31:0] xcheck_random(input dummy);
    begin
      xcheck_state = xcheck_state ^ (xcheck_state << 13);
      xcheck_state = xcheck_state ^ (xcheck_state >> 17);
      xcheck_state = xcheck_state ^ (xcheck_state << 5);
      xcheck_random = xcheck_state;
    end
  endfunction
  always #5 clk = ~clk;
  always @(negedge clk) begin
    if ((^acc) === 1'bx) begin xcheck_errors = xcheck_errors + 1; $display("X on acc at cycle %0d: %h", xcheck_cycle, acc); end
    $display("TRACE %0d acc=%h", xcheck_cycle, acc);
    xcheck_cycle = xcheck_cycle + 1;
    if (xcheck_cycle >= 3) begin
      rst = 0;
      a = xcheck_random(0);
      a_nb = xcheck_random(0);
      clear = xcheck_random(0);
      valid = xcheck_random(0);
      w = xcheck_random(0);
      w_nb = xcheck_random(0);
    end
    if (xcheck_cycle == 200) begin
      if (xcheck_errors == 0) $display("XCHECK PASS");
      else $display("XCHECK FAIL %0d", xcheck_errors);
      $finish;
    end
  end
endmodule

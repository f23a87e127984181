`timescale 1ns/1ps
module xcheck_tb;
  reg clk = 0;
  reg rst = 1;
  reg [32:0] a__payload = 33'd0;
  reg a__valid = 1'd0;
  reg [31:0] w__payload = 32'd0;
  reg w__valid = 1'd0;
  wire a__ready;
  wire [71:0] c__payload;
  wire c__valid;
  wire w__ready;
  systolic_array dut (.clk(clk), .rst(rst), .a__payload(a__payload), .a__valid(a__valid), .w__payload(w__payload), .w__valid(w__valid), .a__ready(a__ready), .c__payload(c__payload), .c__valid(c__valid), .w__ready(w__ready));
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
    if ((^a__ready) === 1'bx) begin xcheck_errors = xcheck_errors + 1; $display("X on a__ready at cycle %0d: %h", xcheck_cycle, a__ready); end
    if ((^c__payload) === 1'bx) begin xcheck_errors = xcheck_errors + 1; $display("X on c__payload at cycle %0d: %h", xcheck_cycle, c__payload); end
    if ((^c__valid) === 1'bx) begin xcheck_errors = xcheck_errors + 1; $display("X on c__valid at cycle %0d: %h", xcheck_cycle, c__valid); end
    if ((^w__ready) === 1'bx) begin xcheck_errors = xcheck_errors + 1; $display("X on w__ready at cycle %0d: %h", xcheck_cycle, w__ready); end
    $display("TRACE %0d a__ready=%h c__payload=%h c__valid=%h w__ready=%h", xcheck_cycle, a__ready, c__payload, c__valid, w__ready);
    xcheck_cycle = xcheck_cycle + 1;
    if (xcheck_cycle >= 3) begin
      rst = 0;
      a__payload[31:0] = xcheck_random(0);
      a__payload[32:32] = xcheck_random(0);
      a__valid = xcheck_random(0);
      w__payload = xcheck_random(0);
      w__valid = xcheck_random(0);
    end
    if (xcheck_cycle == 200) begin
      if (xcheck_errors == 0) $display("XCHECK PASS");
      else $display("XCHECK FAIL %0d", xcheck_errors);
      $finish;
    end
  end
endmodule

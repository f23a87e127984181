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
  integer cycle = 0;
  integer errors = 0;
  integer seed = 1;
  always #5 clk = ~clk;
  always @(negedge clk) begin
    if ((^a__ready) === 1'bx) begin errors = errors + 1; $display("X on a__ready at cycle %0d: %h", cycle, a__ready); end
    if ((^c__payload) === 1'bx) begin errors = errors + 1; $display("X on c__payload at cycle %0d: %h", cycle, c__payload); end
    if ((^c__valid) === 1'bx) begin errors = errors + 1; $display("X on c__valid at cycle %0d: %h", cycle, c__valid); end
    if ((^w__ready) === 1'bx) begin errors = errors + 1; $display("X on w__ready at cycle %0d: %h", cycle, w__ready); end
    $display("TRACE %0d a__ready=%h c__payload=%h c__valid=%h w__ready=%h", cycle, a__ready, c__payload, c__valid, w__ready);
    cycle = cycle + 1;
    if (cycle >= 3) begin
      rst = 0;
      a__payload = {$random(seed), $random(seed)};
      a__valid = $random(seed);
      w__payload = $random(seed);
      w__valid = $random(seed);
    end
    if (cycle == 200) begin
      if (errors == 0) $display("XCHECK PASS");
      else $display("XCHECK FAIL %0d", errors);
      $finish;
    end
  end
endmodule

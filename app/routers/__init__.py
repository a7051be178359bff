"""HTTP routers: parse input, call one service function, shape the output."""

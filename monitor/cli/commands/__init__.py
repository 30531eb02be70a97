"""One module per command, each with `add_parser(sub)` and `run(args) -> int`."""

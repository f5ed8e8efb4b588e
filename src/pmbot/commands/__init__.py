"""CLI subcommands; each module: HELP, add_arguments(parser), main(args) -> int."""

"""mnemoweave's benchmarks: ``python -m bench <study> [--quick]`` prints a markdown table."""

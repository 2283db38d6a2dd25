"""Scripts the benchmarks serve beside the app."""

"""Benchmarks: `python -m benchmarks` measures what the README promises and prints a table
(also written as JSON under benchmarks/results/). Figures are medians over several runs; where
there is a floor, the ratio to the floor is measured in the same run."""

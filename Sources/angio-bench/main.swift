// angio-bench: times the project's workloads; see scripts/bench.sh. Placeholder.
print("{\"workload\":\"none\"}")

"""Faithful copies of the seeds' pure-Python memories, the anchors of the benchmarks."""

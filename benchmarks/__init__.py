"""Speed and memory benchmarks, run as ``python -m benchmarks.<name>``; they print figures, they assert nothing."""

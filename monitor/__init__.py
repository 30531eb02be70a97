"""oss-monitor: find the fastest, most reliable endpoint serving gpt-oss-120b, right now."""

__version__ = "0.1.0"

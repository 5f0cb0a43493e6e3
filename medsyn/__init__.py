"""medsyn: build, benchmark and publish a Russian synthetic clinical-notes corpus."""

__version__ = "0.1.0"

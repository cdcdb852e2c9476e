"""Logging and metrics: ``log``, metrics files, memory metrics, the package's loggers, the Hub."""

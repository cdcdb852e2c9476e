"""Shared test helpers. Importing this package loads no torch; the submodules that need it do."""

"""Fakes and local sites the tests and benchmarks share: fake Bot API, loopback sources, worlds."""

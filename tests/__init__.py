"""sentibot's tests, laid out like the package (tests/<stage>/), with proofs/ and support/."""

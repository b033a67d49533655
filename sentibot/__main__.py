"""`python -m sentibot` is the same as the `sentibot` console script."""

from sentibot.cli import main

if __name__ == "__main__":
    main()

"""sentibot: retail sentiment tracker and alert bot for the Beijing Stock Exchange."""

__version__ = "0.1.0"

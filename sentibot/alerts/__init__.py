"""Alerts: the rules that raise them, and the one outbox that delivers alerts and broadcasts."""

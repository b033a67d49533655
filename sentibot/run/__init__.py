"""The service: jobs, their schedule, and `sentibot run`."""

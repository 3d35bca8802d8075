"""Workflow automation (trigger → conditions → actions) and outgoing webhooks, on the outbox and job queue."""

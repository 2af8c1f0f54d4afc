"""Telling clients: rendering messages, the channels that carry them, and the dispatcher."""

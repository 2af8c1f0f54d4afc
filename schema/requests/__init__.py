"""Requests: their types, queries, mutations and subscriptions."""

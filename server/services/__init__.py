"""Use cases: one function, one transaction, returning its result and its events."""

"""The counter page (its own issue builds the real screen)."""

"""The display page (its own issue builds the real screen)."""

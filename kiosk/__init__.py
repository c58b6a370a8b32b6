"""The kiosk page (its own issue builds the real screen)."""

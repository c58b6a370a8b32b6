"""The integration tests use the shared fixtures of tests/support/fixtures.py (app_hall, hall, start_server, ...)."""

"""Request and response shapes of /api/v1 (pydantic models): one description of every field."""

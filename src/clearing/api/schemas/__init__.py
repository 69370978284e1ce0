"""Request and response schemas (pydantic); never ORM objects."""

"""Input and output models (pydantic v2), one module per aggregate."""

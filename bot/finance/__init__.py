"""The finance platform: its API under /api/v1, the OpenAPI document, signed webhooks out."""

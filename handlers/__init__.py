"""Capabilities, one module (or package) each; `handlers.registry` assembles them."""

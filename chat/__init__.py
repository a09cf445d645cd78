"""The chat framework handlers and dialogs share: router, context, domain events, the message model."""

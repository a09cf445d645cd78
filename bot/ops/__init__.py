"""Operating the bot: serving, the command line, logs and metrics."""

"""The bot's engine room: inbox writer, per-user dispatcher, worker, scheduler, pumps, clock."""

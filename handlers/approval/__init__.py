"""Approval of expenses: routing rules, the decision state machine, cards and chat commands."""

"""A local stand-in for WeCom (企业微信) that speaks the real callback and server-API protocol."""

from simulator.cards import CardNotClickable
from simulator.core import WeComSimulator
from simulator.models import CallbackResult, Card, CardView, SentMessage

__all__ = ["CallbackResult", "Card", "CardNotClickable", "CardView", "SentMessage", "WeComSimulator"]

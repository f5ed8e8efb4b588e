"""pmbot.venues.polymarket"""

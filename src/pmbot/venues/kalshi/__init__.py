"""pmbot.venues.kalshi"""

"""pmbot.feeds"""

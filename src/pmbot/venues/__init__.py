"""pmbot.venues"""

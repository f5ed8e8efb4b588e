"""pmbot.store"""

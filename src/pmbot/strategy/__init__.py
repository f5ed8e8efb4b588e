"""pmbot.strategy"""

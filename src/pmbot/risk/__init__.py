"""pmbot.risk"""

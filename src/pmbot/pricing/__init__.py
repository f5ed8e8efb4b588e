"""pmbot.pricing"""

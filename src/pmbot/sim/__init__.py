"""pmbot.sim"""

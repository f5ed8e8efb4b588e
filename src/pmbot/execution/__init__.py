"""pmbot.execution"""

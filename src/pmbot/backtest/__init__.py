"""pmbot.backtest"""

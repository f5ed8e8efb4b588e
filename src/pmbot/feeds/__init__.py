"""Index feeds: one interface (`IndexFeed`), sources yahoo, synthetic, replay and sim.

Import the source modules directly (`pmbot.feeds.yahoo`, ...); yfinance is imported only
when the Yahoo feed first polls.
"""

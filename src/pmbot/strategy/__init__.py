"""pmbot.strategy: pure quoting (inputs snapshot -> proposed quotes).

Public surface: `inputs` (QuoteInputs, RestingOrder, DesiredQuote, Proposal), `params`
(QuoteParams), `quoter` (MarketMaker), `baseline` (BaselineStrategy), `engine`
(Strategy, QuoteEngine, QuoteDecision), `inventory` (payoff vectors, CARA reservation).
"""

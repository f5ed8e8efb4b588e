"""Pure fair-value maths: trading calendar, volatility, ladder pricing, calibration scores.

`pmbot.pricing.model.FairValueModel` assembles them into the v1 model the strategy uses.
"""

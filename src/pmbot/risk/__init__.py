"""pmbot.risk: limits, guards, kill switch and the RiskGate every quote passes through.

Public surface: `limits` (RiskLimits), `guards` (GuardParams, RiskState), `kill_switch`
(KillSwitch), `gate` (RiskGate, GateDecision, RiskTransition).
"""

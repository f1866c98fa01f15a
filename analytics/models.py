"""The analytics app's models live with the feature they serve (fraud)."""

from analytics.fraud.models import FraudAlert, FraudAlertChange, FraudRuleSetting, FraudSignal

__all__ = ["FraudAlert", "FraudAlertChange", "FraudRuleSetting", "FraudSignal"]

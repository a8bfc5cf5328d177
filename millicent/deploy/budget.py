"""An AWS Budgets cost budget in the stack: a monthly amount, notifications at 80 % and 100 %.

A budget watches the *account's* cost (AWS Budgets can filter by a cost-allocation tag only
once that tag is activated in the Billing console, so none is assumed here). It notifies; it
does not stop anything — the reserved concurrency is what bounds the bill. The notifications
go to ``--budget-email`` or, without one, to an SNS topic of the stack (subscribe to its ARN,
output ``BudgetTopicArn``) whose policy lets only AWS Budgets publish.
"""

from __future__ import annotations

import re
from typing import Any

from millicent.errors import ConfigError

#: notify when actual spend passes these shares of the budget
THRESHOLDS = (80, 100)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def check_budget(amount_usd: float | None, email: str | None) -> None:
    """ConfigError for a budget that cannot work (no amount, a bad amount or address)."""
    if amount_usd is None:
        if email is not None:
            raise ConfigError("--budget-email needs --budget-usd (the monthly amount)")
        return
    if not amount_usd >= 1:
        raise ConfigError(f"--budget-usd must be at least 1 (USD a month), got {amount_usd}")
    if email is not None and not _EMAIL.fullmatch(email):
        raise ConfigError(f"--budget-email {email!r} is not an email address")


def budget_resources(email: str | None) -> dict[str, Any]:
    """``Budget`` (and ``BudgetTopic`` + its policy without an email address)."""
    if email is not None:
        subscriber: dict[str, Any] = {"SubscriptionType": "EMAIL", "Address": email}
        extra: dict[str, Any] = {}
    else:
        subscriber = {"SubscriptionType": "SNS", "Address": {"Ref": "BudgetTopic"}}
        extra = {
            "BudgetTopic": {"Type": "AWS::SNS::Topic", "Properties": {
                "DisplayName": "millicent budget"}},
            "BudgetTopicPolicy": {"Type": "AWS::SNS::TopicPolicy", "Properties": {
                "Topics": [{"Ref": "BudgetTopic"}],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Sid": "BudgetsPublish", "Effect": "Allow",
                    "Principal": {"Service": "budgets.amazonaws.com"},
                    "Action": "sns:Publish", "Resource": {"Ref": "BudgetTopic"},
                    "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
                }]}}},
        }
    notifications = [{
        "Notification": {"NotificationType": "ACTUAL", "ComparisonOperator": "GREATER_THAN",
                         "Threshold": t, "ThresholdType": "PERCENTAGE"},
        "Subscribers": [subscriber],
    } for t in THRESHOLDS]
    budget = {"Type": "AWS::Budgets::Budget", "Properties": {
        "Budget": {"BudgetName": {"Fn::Sub": "${AWS::StackName}-monthly"}, "BudgetType": "COST",
                   "TimeUnit": "MONTHLY",
                   "BudgetLimit": {"Amount": {"Ref": "BudgetUsd"}, "Unit": "USD"}},
        "NotificationsWithSubscribers": notifications,
    }}
    if email is None:
        budget["DependsOn"] = "BudgetTopicPolicy"
    return {"Budget": budget, **extra}

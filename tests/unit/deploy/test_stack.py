"""Stack waiting and failure reporting, on a scripted CloudFormation fake (pure logic)."""

import pytest

from millicent.deploy.stack import DeployError, failure_reasons, wait_stack


class FakeCloudFormation:
    def __init__(self, statuses, events=()):
        self.statuses = list(statuses)
        self.events = list(events)

    def describe_stacks(self, StackName):
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"Stacks": [{"StackName": StackName, "StackStatus": status}]}

    def describe_stack_events(self, StackName):
        return {"StackEvents": self.events}


EVENTS = [  # newest first, as CloudFormation returns them
    {"LogicalResourceId": "s", "ResourceType": "AWS::CloudFormation::Stack",
     "ResourceStatus": "ROLLBACK_COMPLETE"},
    {"LogicalResourceId": "Table", "ResourceType": "AWS::DynamoDB::Table",
     "ResourceStatus": "DELETE_COMPLETE"},
    {"LogicalResourceId": "Function", "ResourceType": "AWS::Lambda::Function",
     "ResourceStatus": "CREATE_FAILED",
     "ResourceStatusReason": "Error occurred while GetObject. S3 Error Code: NoSuchKey"},
    {"LogicalResourceId": "s", "ResourceType": "AWS::CloudFormation::Stack",
     "ResourceStatus": "CREATE_FAILED", "ResourceStatusReason": "stack-level"},
]


def test_waits_through_in_progress_states():
    cf = FakeCloudFormation(["CREATE_IN_PROGRESS", "CREATE_IN_PROGRESS", "CREATE_COMPLETE"])
    assert wait_stack(cf, "s", poll_s=0) == "CREATE_COMPLETE"
    assert cf.statuses == ["CREATE_COMPLETE"]


def test_failure_names_the_failing_resource_and_its_reason():
    cf = FakeCloudFormation(["CREATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE"], EVENTS)
    with pytest.raises(DeployError) as err:
        wait_stack(cf, "s", poll_s=0)
    assert err.value.message == (
        "stack s ended in ROLLBACK_COMPLETE: Function (AWS::Lambda::Function) CREATE_FAILED: "
        "Error occurred while GetObject. S3 Error Code: NoSuchKey")
    assert err.value.details["stack_status"] == "ROLLBACK_COMPLETE"


def test_update_rollback_is_a_failure_too():
    cf = FakeCloudFormation(["UPDATE_ROLLBACK_COMPLETE"], [])
    with pytest.raises(DeployError, match="UPDATE_ROLLBACK_COMPLETE: no reason reported"):
        wait_stack(cf, "s", poll_s=0)


def test_failure_reasons_skips_the_stack_itself():
    assert failure_reasons(FakeCloudFormation(["X"], EVENTS), "s") == [
        "Function (AWS::Lambda::Function) CREATE_FAILED: Error occurred while GetObject. S3 Error Code: NoSuchKey"]

"""The fire drill: prove each workflow a stack deployed works in the real account, on canary resources the
drill creates and removes itself (`python -m localcloud drill --help`).

Standalone on purpose: it needs only boto3 (drill/requirements.txt), the stack's outputs and AWS credentials,
never Pulumi or the local cloud, so the deploy job runs it right after `pulumi up`. Everything it checks is
AWS state a person could read in the console: tags, key status, objects, executions, Batch resources, alerts.
"""

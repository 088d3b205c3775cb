"""Credential-exposure response: disable the exposed access key, summarise its CloudTrail activity, report."""

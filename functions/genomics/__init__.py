"""Genomics pipeline: validate the execution input and plan each sample's four AWS Batch jobs."""

"""Genomics pipeline: validate an execution input or samplesheet and plan each sample's four AWS Batch jobs
(plan.py), then report what became of every sample and judge the cohort (report.py)."""

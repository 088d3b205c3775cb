"""AWS list prices, us-east-1, on-demand, without free tier: the one place the benchmarks' dollar figures come from.
Sources: the public pricing pages of Amazon S3, AWS Step Functions, AWS Lambda and Amazon EC2 (as of 2025).
Running this file prints them.

    .venv/bin/python bench/prices.py
"""
from __future__ import annotations

REGION = "us-east-1"

# Amazon S3 Standard requests
S3_PUT_COPY_POST_LIST = 0.005 / 1000        # PUT, COPY, POST, LIST (ListObjectsV2, CopyObject, UploadPartCopy, ...)
S3_GET_HEAD = 0.0004 / 1000                 # GET, HEAD and all other requests
S3_DELETE = 0.0                             # DELETE and CANCEL requests are free (DeleteObjects deletes)
S3_INVENTORY_PER_OBJECT = 0.0025 / 1_000_000   # S3 Inventory: per object listed in a report

# AWS Step Functions, Standard workflows (Distributed Map child executions are billed the same way)
SFN_STATE_TRANSITION = 0.025 / 1000

# AWS Lambda, Arm (Graviton): what opsflows functions run on
LAMBDA_REQUEST = 0.20 / 1_000_000
LAMBDA_GB_SECOND_ARM = 0.0000133334

# S3 Batch Operations
BATCH_OPS_JOB = 0.25
BATCH_OPS_PER_OBJECT = 1.00 / 1_000_000

# Amazon EC2 on-demand, for `aws s3 sync` on one instance
EC2_INSTANCE = "c6in.xlarge"                # 4 vCPU, up to 30 Gbit/s: network-optimised for S3 copies
EC2_HOURLY = 0.2268

PRICES = {
    "S3 PUT/COPY/POST/LIST request": S3_PUT_COPY_POST_LIST, "S3 GET/HEAD request": S3_GET_HEAD,
    "S3 DELETE request": S3_DELETE, "S3 Inventory, per object listed": S3_INVENTORY_PER_OBJECT,
    "Step Functions state transition (Standard)": SFN_STATE_TRANSITION, "Lambda request": LAMBDA_REQUEST,
    "Lambda GB-second (Arm)": LAMBDA_GB_SECOND_ARM, "S3 Batch Operations job": BATCH_OPS_JOB,
    "S3 Batch Operations, per object": BATCH_OPS_PER_OBJECT, f"EC2 {EC2_INSTANCE}, per hour": EC2_HOURLY,
}


def main() -> None:
    print(f"AWS list prices used by bench/ ({REGION}, on-demand):")
    for name, price in PRICES.items():
        print(f"   {name:<46} ${price:.10f}".rstrip("0"))


if __name__ == "__main__":
    main()

"""S3 bucket sync: make a destination (bucket/prefix) equal to a source, at any size, at the lower bound of S3
requests. Validate -> (Scan -> copy Map)* -> delete Map; see components/bucket_sync.py for the design."""

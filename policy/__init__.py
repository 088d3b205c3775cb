"""The CrossGuard policy pack (see PulumiPolicy.yaml); importable so tests and the offline verdict reuse it."""

"""EBS snapshot management: tag each new snapshot, keep the newest N per volume, copy to the DR region."""

"""opsflows components: one module per capability plus the shared building blocks."""

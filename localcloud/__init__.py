"""The local cloud: the opsflows program deployed into moto, its workflows run for real, in-process."""
from .cloud import LocalCloud

__all__ = ["LocalCloud"]

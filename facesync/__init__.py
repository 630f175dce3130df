"""facesync: keep Face API person groups in Git (manifest, plan, apply, lock)."""

__version__ = "0.1.0"

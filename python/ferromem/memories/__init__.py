"""The memory classes, one per module."""

"""Cross-platform clearing house with smart-contract settlement."""

__version__ = "0.1.0"

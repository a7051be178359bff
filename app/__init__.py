"""assetmap: asset-based community mapping service (FastAPI over PostGIS)."""

__version__ = "0.1.0"

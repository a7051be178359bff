"""Pure geospatial core of assetmap: no database, no web framework; GeoDataFrames in, new frames out."""

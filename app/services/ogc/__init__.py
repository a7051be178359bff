"""OGC API Features (Parts 1 to 4) and Tiles, over the same visibility and listing rules as the JSON API; the
collection ids both use are in `naming`."""

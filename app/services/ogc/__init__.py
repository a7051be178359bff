"""OGC API Features (Parts 1 to 3) over the same visibility and listing rules as the JSON API."""

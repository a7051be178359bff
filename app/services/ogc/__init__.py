"""OGC API pieces: collection naming shared by Features and Tiles."""

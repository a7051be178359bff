"""Scripts run by Debian's system Python with QGIS (python3-qgis), not by the test virtualenv."""

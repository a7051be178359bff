"""Load assetmap's XYZ vector tiles into QGIS headless and draw them: run by /usr/bin/python3 (python3-qgis).

Usage: QT_QPA_PLATFORM=offscreen python3 vector_tiles.py BASE_URL COLLECTION LAYER WEST SOUTH EAST NORTH
Prints JSON: whether the layer is valid, and how many pixels of a 512x512 rendering have the layer's colour.
"""

from __future__ import annotations

import json
import sys

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsDataSourceUri,
    QgsMapRendererSequentialJob,
    QgsMapSettings,
    QgsMarkerSymbol,
    QgsProject,
    QgsRectangle,
    QgsVectorTileBasicRenderer,
    QgsVectorTileBasicRendererStyle,
    QgsVectorTileLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QSize
from qgis.PyQt.QtGui import QColor

RED = QColor(255, 0, 0)


def main(base: str, collection: str, layer_name: str, box: list[float]) -> dict[str, object]:
    uri = QgsDataSourceUri()
    uri.setParam("type", "xyz")
    uri.setParam("url", f"{base}/tiles/{collection}/{{z}}/{{x}}/{{y}}.mvt")
    uri.setParam("zmin", "0")
    uri.setParam("zmax", "16")
    layer = QgsVectorTileLayer(bytes(uri.encodedUri()).decode(), collection)
    style = QgsVectorTileBasicRendererStyle(layer_name, layer_name, QgsWkbTypes.PointGeometry)
    style.setSymbol(QgsMarkerSymbol.createSimple({"color": "255,0,0", "size": "4", "outline_style": "no"}))
    renderer = QgsVectorTileBasicRenderer()
    renderer.setStyles([style])
    layer.setRenderer(renderer)
    mercator = QgsCoordinateReferenceSystem("EPSG:3857")
    to_mercator = QgsCoordinateTransform(
        QgsCoordinateReferenceSystem("EPSG:4326"), mercator, QgsProject.instance()
    )
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(mercator)
    settings.setExtent(to_mercator.transformBoundingBox(QgsRectangle(*box)))
    settings.setOutputSize(QSize(512, 512))
    settings.setBackgroundColor(QColor(255, 255, 255))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    red = sum(
        1
        for x in range(0, image.width(), 2)
        for y in range(0, image.height(), 2)
        if QColor(image.pixel(x, y)) == RED
    )
    return {"valid": layer.isValid(), "red_pixels": red, "errors": [str(e) for e in job.errors()]}


if __name__ == "__main__":
    app = QgsApplication([], False)
    app.initQgis()
    try:
        result = main(sys.argv[1], sys.argv[2], sys.argv[3], [float(v) for v in sys.argv[4:8]])
    finally:
        app.exitQgis()
    print(json.dumps(result))

"""Coverage-gap analysis use cases (ANALYSIS.md): runs, their outputs, scenarios, the network and the map pages.

inputs   what a run reads, once, and the data version it records
runs     parameters, computing and storing runs (now or in the background), finding the latest run
bounds   limits on resolution, stored cells, time and concurrent work; heavy work off the event loop
outputs  a run's document, neighbourhood GeoJSON, cells and per-asset rows in the reader's view
scenarios  suggested sites and closures on a run
network  the relationship network
maps     the gap and network map pages
"""

from app.services.analysis.bounds import off_the_loop
from app.services.analysis.maps import (
    GapMapFrames,
    gap_map_frames,
    gap_map_html,
    network_map_html,
    write_gap_map_png,
)
from app.services.analysis.network import network_document, network_view
from app.services.analysis.outputs import (
    CELL_SHAPES,
    cell_page,
    export_neighbourhoods,
    neighbourhood_collection,
    run_assets,
    run_document,
)
from app.services.analysis.runs import (
    GapMapChoice,
    create_run,
    execute_run,
    gap_map_run,
    get_run,
    latest_or_new_run,
    list_runs,
    view_of,
)
from app.services.analysis.scenarios import suggest_sites, what_if

__all__ = [
    "CELL_SHAPES",
    "GapMapChoice",
    "GapMapFrames",
    "cell_page",
    "create_run",
    "execute_run",
    "export_neighbourhoods",
    "gap_map_frames",
    "gap_map_html",
    "gap_map_run",
    "get_run",
    "latest_or_new_run",
    "list_runs",
    "neighbourhood_collection",
    "network_document",
    "network_map_html",
    "network_view",
    "off_the_loop",
    "run_assets",
    "run_document",
    "suggest_sites",
    "view_of",
    "what_if",
    "write_gap_map_png",
]

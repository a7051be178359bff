"""Coverage-gap analysis use cases (ANALYSIS.md): runs, their outputs, scenarios, the network and the map pages.

inputs   what a run reads, once, and the data version it records
params   a run's parameters: the city and service type, GapParams checked once with the field that is wrong
compute  one read, geo.gaps in the exact and the public view, what a run stores
records  storing, finding, listing and pruning runs
runs     starting runs now or in the background: the worker threads, advisory locks, re-queue at start-up
gap_map  which run a gap-map view (or the command line's --city --service) shows
bounds   limits on resolution, stored cells, time and concurrent work; heavy work off the event loop
outputs  a run's document, neighbourhood GeoJSON, cells and per-asset rows in the reader's view
scenarios  suggested sites and closures on a run
network  the relationship network
maps     the gap and network map pages
map_pages  what a browser opening /maps/ gets: the map, or the page of a run computing or failed, with CSP hashes
warnings  what a reader must know before trusting a run's numbers (unknown capacity), for the API, CLI and map
"""

from app.services.analysis.bounds import off_the_loop
from app.services.analysis.compute import view_of
from app.services.analysis.gap_map import Distance, GapMapChoice, gap_map_run, latest_or_new_run
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
from app.services.analysis.records import get_run, list_runs
from app.services.analysis.runs import create_run, execute_run
from app.services.analysis.scenarios import suggest_sites, what_if

__all__ = [
    "CELL_SHAPES",
    "Distance",
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

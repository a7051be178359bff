"""notebooks/berlin_gaps.ipynb runs from a clean state and shows the API's numbers for the same parameters,
reading the sample files or, with ASSETMAP_API_URL, a running assetmap."""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nbformat
import pytest
import uvicorn
from fastapi.testclient import TestClient
from nbclient import NotebookClient

from app.main import create_app
from tests.app.test_analysis_api import LONE_KINDERGARTEN, asset_id_named, set_default_capacity, start_run
from tests.conftest import Berlin

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "berlin_gaps.ipynb"
KERNEL = "assetmap-test-venv"


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A kernelspec for this interpreter (the project's venv), found through JUPYTER_PATH; no network needed."""
    spec = tmp_path / "jupyter" / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "assetmap test kernel",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.delenv("ASSETMAP_API_URL", raising=False)
    return KERNEL


def execute(kernel: str) -> tuple[str, dict[str, Any]]:
    """Run the notebook; return everything it printed and its record of numbers."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook, kernel_name=kernel, timeout=300, resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    ).execute()
    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream"
    )
    record = json.loads(printed.strip().splitlines()[-1])
    return printed, record


def api_numbers(client: TestClient, berlin: Berlin) -> dict[str, Any]:
    """The same analysis through the API: the run, three suggested venues, one closure (with the
    notebook's default capacity for kindergartens, whose capacity OpenStreetMap does not know)."""
    set_default_capacity(client, berlin, 60)
    run = start_run(client, berlin)
    assert run["params"]["default_capacity"] == 60
    neighbourhoods = client.get(f"/api/analysis/runs/{run['id']}/neighbourhoods").json()["features"]
    top = sorted((f["properties"] for f in neighbourhoods), key=lambda p: -p["unmet_need"])[:5]
    planner = berlin.headers("planner")
    sites = client.post(
        f"/api/analysis/runs/{run['id']}/suggest-sites", json={"p": 3}, headers=planner
    ).json()
    closure = client.post(
        f"/api/analysis/runs/{run['id']}/what-if",
        json={"close": [asset_id_named(client, LONE_KINDERGARTEN)]},
        headers=planner,
    ).json()
    return {"run": run, "top": top, "sites": sites, "closure": closure}


def assert_same_numbers(printed: str, record: dict[str, Any], api: dict[str, Any], rel: float = 1e-9) -> None:
    """The notebook's numbers are the API's; `rel` bounds the difference of decayed (continuous) numbers."""
    totals = api["run"]["totals"]
    shown = re.search(r"Under-6s within 500 m of a kindergarten: ([\d.]+) %", printed)
    assert shown is not None and shown.group(1) == f"{100 * totals['covered_share']:.2f}" == "51.18"
    assert "Capacity unknown for 1,175 of 1,175 kindergartens: default capacity 60 used" in printed
    assert record["covered_share"] == pytest.approx(totals["covered_share"], rel=1e-12)
    assert record["unmet_need"] == pytest.approx(totals["unmet_need"], rel=rel)
    assert list(record["top_unmet"]) == [p["code"] for p in api["top"]]
    assert list(record["top_unmet"].values()) == pytest.approx([p["unmet_need"] for p in api["top"]], rel=rel)
    assert record["suggested_sites"] == [s["name"] for s in api["sites"]["sites"]]
    assert record["objective"] == pytest.approx(api["sites"]["objective"], rel=rel)
    assert record["lp_upper_bound"] == pytest.approx(api["sites"]["lp_upper_bound"], rel=rel)
    closed = api["sites"]["gap_closed"]
    assert record["share_closed"] == pytest.approx(closed["share_closed"], rel=rel)
    assert record["max_share"] == pytest.approx(closed["max_share"], rel=rel)
    assert record["sites_needed"] == {str(e["share"]): e["n_sites"] for e in closed["sites_needed"]}
    people = api["closure"]["totals"]["population_losing_coverage"]
    assert record["population_losing_coverage"] == pytest.approx(people, rel=rel) and people > 0


def test_the_notebook_is_stored_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)
    source = "\n".join(cell.source for cell in code)
    assert "from app" not in source and "import app" not in source  # geo and the HTTP API only


def test_the_notebook_on_the_sample_files_shows_the_apis_numbers(
    kernel: str, client: TestClient, berlin: Berlin
) -> None:
    printed, record = execute(kernel)
    assert "reading from" in printed and "data/berlin" in printed
    assert_same_numbers(printed, record, api_numbers(client, berlin))


@pytest.fixture
def served(berlin: Berlin) -> Iterator[str]:
    """The app on a free local port (real sessions on the session database), for the notebook's API mode."""
    # The bound socket is handed to uvicorn, so no other process (a parallel test worker) can take the port between.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(berlin.settings), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_the_notebook_through_the_api_shows_the_same_numbers(
    kernel: str, served: str, client: TestClient, berlin: Berlin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ASSETMAP_API_URL", served)
    printed, record = execute(kernel)
    assert f"reading from {served}" in printed
    # The API gives coordinates to 6 decimals (about 0.1 m, ARCHITECTURE.md): who is within 500 m is unchanged
    # (the covered share is checked to 1e-12), decay-weighted numbers move in the sixth significant digit.
    assert_same_numbers(printed, record, api_numbers(client, berlin), rel=1e-5)

"""Results of a round equal pabutools run directly on the same ballots (greedy and the Method of Equal Shares), the
pabulib export reads back to the same results, and typed text stays text in it."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from pabutools.election import (
    ApprovalBallot,
    ApprovalProfile,
    Cost_Sat,
    Instance,
    Project,
    parse_pabulib,
)
from pabutools.rules import greedy_utilitarian_welfare, method_of_equal_shares

from tests.app.budget_helpers import move_on, new_round, propose, vote
from tests.conftest import Berlin

# Greedy and MES differ on this profile: four voters back the dear project A, one small group backs B and C.
COSTS = {"A": 60_000, "B": 45_000, "C": 40_000, "D": 10_000}
BALLOTS = [["A"], ["A"], ["A", "D"], ["A"], ["B", "C"], ["B", "C"], ["C", "D"], ["B"], ["D"]]


def _round_with_ballots(
    client: TestClient, berlin: Berlin, titles: dict[str, str] | None = None
) -> tuple[dict, dict[str, int]]:
    round_ = new_round(client, berlin, amount=100_000)
    ids = {}
    for key, cost in COSTS.items():
        title = (titles or {}).get(key, f"Project {key}")
        ids[key] = propose(client, berlin, round_["id"], title=title, cost=cost)["id"]
    codes = client.post(
        f"/api/budget-rounds/{round_['id']}/codes",
        json={"count": len(BALLOTS)},
        headers=berlin.headers("organiser"),
    ).json()["codes"]
    move_on(client, berlin, round_["id"], "voting")
    for code, ballot in zip(codes, BALLOTS, strict=True):
        response = vote(client, None, round_["id"], [ids[k] for k in ballot], code=code)
        assert response.status_code == 200, response.text
    move_on(client, berlin, round_["id"], "results")
    return round_, ids


def _direct(ids: dict[str, int]) -> tuple[set[int], set[int]]:
    """pabutools on the same ballots, built here from the constants, not from the app's data."""
    projects = {key: Project(key, cost) for key, cost in COSTS.items()}
    instance = Instance(list(projects.values()), budget_limit=100_000)
    profile = ApprovalProfile([ApprovalBallot([projects[k] for k in ballot]) for ballot in BALLOTS])
    greedy = greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)
    mes = method_of_equal_shares(instance, profile, sat_class=Cost_Sat)
    return {ids[p.name] for p in greedy}, {ids[p.name] for p in mes}


def test_results_are_pabutools_on_the_same_ballots_with_reasons(client: TestClient, berlin: Berlin) -> None:
    round_, ids = _round_with_ballots(client, berlin)
    results = client.get(f"/api/budget-rounds/{round_['id']}/results")
    assert results.status_code == 200, results.text
    body = results.json()
    greedy, mes = _direct(ids)
    assert set(body["greedy"]["funded"]) == greedy
    assert set(body["mes"]["funded"]) == mes
    assert greedy != mes  # the case shows the difference between the rules
    assert body["n_voters"] == len(BALLOTS) and body["pabutools"]["version"]
    assert body["greedy"]["spent"] <= 100_000 and body["mes"]["spent"] <= 100_000
    by_id = {row["proposal"]["id"]: row for row in body["projects"]}
    assert by_id[ids["A"]]["votes"] == 4
    for row in body["projects"]:
        for rule in ("greedy", "mes"):
            why = row[rule]["why"]
            assert why.startswith("funded" if row[rule]["funded"] else "not funded"), (rule, row)
    print({k: (by_id[i]["greedy"], by_id[i]["mes"]) for k, i in ids.items()})


def test_the_pabulib_export_reads_back_to_the_same_results(
    client: TestClient, berlin: Berlin, tmp_path: Path
) -> None:
    tricky = {
        "A": 'Kita; "Sonnenschein"\nneu',
        "B": "<script>alert(1)</script>, B",
        "C": "Café Ä,Ö",
        "D": "none",
    }
    round_, ids = _round_with_ballots(client, berlin, tricky)
    exported = client.get(f"/api/budget-rounds/{round_['id']}/export.pb")
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/plain")
    path = tmp_path / "round.pb"
    path.write_bytes(exported.content)
    instance, profile = parse_pabulib(str(path))
    assert len(instance) == len(COSTS) and len(profile) == len(BALLOTS)
    assert int(instance.budget_limit) == 100_000
    names = {p.name: instance.project_meta[p].get("name") for p in instance}
    # pabulib reads the word "none" as an empty field: such a title is left out, its project is not
    assert names[str(ids["D"])] is None
    assert (
        names[str(ids["A"])] == 'Kita; "Sonnenschein" neu'
    )  # one line, its quotes and semicolon kept as text
    assert names[str(ids["B"])] == "<script>alert(1)</script>, B"
    read_greedy = {int(p.name) for p in greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)}
    read_mes = {int(p.name) for p in method_of_equal_shares(instance, profile, sat_class=Cost_Sat)}
    body = client.get(f"/api/budget-rounds/{round_['id']}/results").json()
    assert read_greedy == set(body["greedy"]["funded"])
    assert read_mes == set(body["mes"]["funded"])
    assert (read_greedy, read_mes) == _direct(ids)
    # no voter identity leaves: voters are numbered 1..n
    assert [b.meta["voter_id"] for b in profile] == [str(i) for i in range(1, len(BALLOTS) + 1)]


def test_a_round_without_ballots_has_results_and_an_export(
    client: TestClient, berlin: Berlin, tmp_path: Path
) -> None:
    round_ = new_round(client, berlin, amount=100)
    cheap = propose(client, berlin, round_["id"], title="Cheap", cost=40)["id"]
    dear = propose(client, berlin, round_["id"], title="Dear", cost=70)["id"]
    move_on(client, berlin, round_["id"], "results")
    body = client.get(f"/api/budget-rounds/{round_['id']}/results").json()
    assert body["n_voters"] == 0 and body["equal_share"] is None
    # pabutools' greedy funds what fits even without votes; the reason says so
    rows = {row["proposal"]["id"]: row for row in body["projects"]}
    greedy = set(body["greedy"]["funded"])
    assert body["mes"]["funded"] == []
    for pid in (cheap, dear):
        why = rows[pid]["greedy"]["why"]
        assert (
            why.startswith("funded without votes")
            if pid in greedy
            else why.startswith("not funded: no votes")
        )
    path = tmp_path / "empty.pb"
    path.write_bytes(client.get(f"/api/budget-rounds/{round_['id']}/export.pb").content)
    instance, profile = parse_pabulib(str(path))
    assert len(instance) == 2 and len(profile) == 0
    assert {int(p.name) for p in greedy_utilitarian_welfare(instance, profile, sat_class=Cost_Sat)} == greedy

"""Importing a council's published ACV register: columns, UK dates, a CSV in cp1252 and an XLSX, rows matched by
name and address (ambiguous ones left to place with the reason), new places from coordinates, a dry run that
writes nothing, the command line's exit codes, the API's errors and who may import."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from app.cli import cli
from app.db.models import Asset, CaseEvent, Change, CommunityCase
from app.policy import Principal
from app.schemas.case_import import RegisterImportOut, RegisterRowOut
from app.services.cases.register_file import match_key, parse_date, read_register, suggest_mapping
from app.services.cases.register_import import NEW_ASSET_SOURCE, RegisterImport, body_kind, import_register
from app.services.features import create_item
from tests.app.helpers import create_asset
from tests.conftest import Berlin

ADMIN = Principal(username="register-test", role="admin")
# Points in Mitte 1 (the organiser's) and in Spandau (not theirs).
MITTE = (13.4132, 52.5219)
MITTE_2 = (13.4090, 52.5200)
SPANDAU = (13.2001, 52.5353)

CSV_HEADER = (
    "Asset Name,Address,Post Code,Nominated By,Date Nominated,Date Listed,Status,Longitude,Latitude\r\n"
)
CSV_ROWS = (
    # an existing asset, named with 'The', in another case and with punctuation; dates in two formats
    '"THE OLD BATHHOUSE",1 Spa Street,,Friends of the Baths,12/03/2021,2021-04-30,Listed,,\r\n'
    # an existing asset with an accent; a body with a pound sign; a date with a month name
    "Café Noir,2 Rue Street,,Café Society (£5 a year) CIC,3 February 2022,,Nominated,,\r\n"
    # two assets share the name and the row has no address
    "Twin Hall,,,Twin Parish Council,01/06/2020,,Pending,,\r\n"
    # two assets share the name; the address tells which
    'Corner Shop,"14 Low Road, Mitte",,Shop Savers,12-Mar-2021,12 April 2021,Listed,,\r\n'
    # not mapped yet, with coordinates: a new physical space
    f"Allotment Pavilion,3 Garden Lane,,Growers,5th May 2021,,Pending,{MITTE_2[0]},{MITTE_2[1]}\r\n"
    # not mapped, no coordinates: to place on the map
    "Lost Lido,9 Pool Road,,Swimmers,01/07/2021,,Pending,,\r\n"
    # no name
    ",7 Nowhere Street,,Someone,01/07/2021,,Pending,,\r\n"
    # a US month-first date is refused, never read
    "Old Bathhouse Annexe,1a Spa Street,,Friends,03/25/2021,,Pending,,\r\n"
    # a day that does not exist
    "Old Bathhouse Garden,1b Spa Street,,Friends,31/02/2021,,Pending,,\r\n"
)


def write_csv(folder: Path, text: str, encoding: str = "cp1252") -> Path:
    path = folder / "acv-register.csv"
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(folder: Path, rows: list[list[Any]], header: list[str]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Listed assets"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    path = folder / "register.xlsx"
    workbook.save(path)
    return path


def add_asset(db: Session, berlin: Berlin, name: str, point: tuple[float, float], **more: Any) -> int:
    fields = {
        "city": berlin.city_id,
        "name": name,
        "category": "physical_space",
        "geometry": {"type": "Point", "coordinates": list(point)},
        **more,
    }
    return create_item(db, berlin.settings, ADMIN, "assets", fields)


@pytest.fixture
def assets(db: Session, berlin: Berlin) -> dict[str, Any]:
    ids = {
        "bathhouse": add_asset(db, berlin, "Old Bathhouse", MITTE),
        "cafe": add_asset(db, berlin, "Café Noir", MITTE),
        "twins": [add_asset(db, berlin, "Twin Hall", MITTE), add_asset(db, berlin, "Twin hall", MITTE_2)],
        "shop_high": add_asset(db, berlin, "Corner Shop", MITTE, description="12 High Street"),
        "shop_low": add_asset(db, berlin, "Corner Shop", MITTE_2, description="14 Low Road, Mitte"),
    }
    return ids


def counts(db: Session) -> tuple[int, int, int, int]:
    return (
        db.scalar(select(func.count()).select_from(CommunityCase)) or 0,
        db.scalar(select(func.count()).select_from(CaseEvent)) or 0,
        db.scalar(select(func.count()).select_from(Asset)) or 0,
        db.scalar(select(func.count()).select_from(Change)) or 0,
    )


# --- the pure parts ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "day"),
    [
        ("12/03/2021", dt.date(2021, 3, 12)),
        ("1/3/21", dt.date(2021, 3, 1)),
        ("12.03.2021", dt.date(2021, 3, 12)),
        ("2021-03-12", dt.date(2021, 3, 12)),
        ("2021-03-12T00:00:00", dt.date(2021, 3, 12)),
        ("12 March 2021", dt.date(2021, 3, 12)),
        ("12th Mar 2021", dt.date(2021, 3, 12)),
        ("Friday 12 March 2021", dt.date(2021, 3, 12)),
        ("12-Mar-2021", dt.date(2021, 3, 12)),
        ("12-mar-21", dt.date(2021, 3, 12)),
        ("March 12, 2021", dt.date(2021, 3, 12)),
        ("29/02/2024", dt.date(2024, 2, 29)),
        (44267, dt.date(2021, 3, 12)),  # an Excel serial day
        (44267.0, dt.date(2021, 3, 12)),
        ("44267", dt.date(2021, 3, 12)),
        (dt.datetime(2021, 3, 12, 9, 30), dt.date(2021, 3, 12)),
        ("", None),
        ("n/a", None),
        (None, None),
    ],
)
def test_uk_dates(value: Any, day: dt.date | None) -> None:
    assert parse_date(value) == day


def test_03_04_is_the_third_of_april_and_a_us_date_is_refused() -> None:
    assert parse_date("03/04/2021") == dt.date(2021, 4, 3)
    with pytest.raises(ValueError, match="day first"):
        parse_date("03/25/2021")
    with pytest.raises(ValueError, match="not a day of the calendar"):
        parse_date("29/02/2023")
    with pytest.raises(ValueError, match="dd/mm/yyyy"):
        parse_date("sometime in spring")
    with pytest.raises(ValueError, match="number, not a date"):
        parse_date(12)


def test_names_compare_without_case_punctuation_accents_or_the() -> None:
    assert match_key("THE OLD BATHHOUSE") == match_key("Old  Bathhouse") == "old bathhouse"
    assert match_key("Café Noir") == match_key("cafe noir")
    assert match_key("St. Mary's Hall & Garden") == match_key("st marys hall and garden")
    assert body_kind("Twin Parish Council") == "parish_council"
    assert body_kind("Café Society CIC") == "community_interest_company"
    assert body_kind("Friends of the Baths") == "other"


def test_columns_are_suggested_from_council_names_ignoring_case() -> None:
    suggested = suggest_mapping(
        [
            "ASSET NAME",
            "Address",
            "Post Code",
            "Nominated By",
            "Date Nominated",
            "Listing date",
            "Status",
            "x",
        ]
    )
    assert suggested == {
        "name": "ASSET NAME",
        "address": "Address",
        "postcode": "Post Code",
        "body": "Nominated By",
        "nominated_on": "Date Nominated",
        "listed_on": "Listing date",
        "outcome": "Status",
    }


def test_a_cp1252_csv_is_read_with_its_pound_and_accents(tmp_path: Path) -> None:
    register = read_register(write_csv(tmp_path, CSV_HEADER + CSV_ROWS), "acv-register.csv")
    assert register.encoding == "cp1252"
    assert any("not UTF-8" in note for note in register.notes)
    cafe = register.rows[1]
    assert cafe.values["name"] == "Café Noir"
    assert cafe.values["body"] == "Café Society (£5 a year) CIC"
    assert cafe.row == 3  # the line of the file
    assert register.rows[4].point == pytest.approx(MITTE_2)
    same = read_register(write_csv(tmp_path, CSV_HEADER + CSV_ROWS, "utf-8"), "acv-register.csv")
    assert same.encoding == "utf-8" and same.rows[1].values["body"] == "Café Society (£5 a year) CIC"


def test_an_xlsx_with_easting_and_northing_is_british_national_grid(tmp_path: Path) -> None:
    path = write_xlsx(
        tmp_path,
        [["Trafalgar Hall", "London", 530000, 180500, 44267]],
        ["Name of asset", "Address", "Easting", "Northing", "Date of listing"],
    )
    register = read_register(path, "register.xlsx")
    row = register.rows[0]
    assert row.row == 2  # the sheet's row
    assert row.point is not None
    lon, lat = row.point
    assert -0.15 < lon < -0.10 and 51.50 < lat < 51.52
    assert parse_date(row.values["listed_on"]) == dt.date(2021, 3, 12)
    assert any("EPSG:27700" in note for note in register.notes)


# --- the import --------------------------------------------------------------------------------------------------


def outcome_of(report: dict[str, Any], name: str | None) -> dict[str, Any]:
    found = [row for row in report["rows"] if row["name"] == name]
    assert len(found) == 1, report["rows"]
    return found[0]


def test_a_register_with_awkward_rows(
    db: Session, berlin: Berlin, assets: dict[str, Any], tmp_path: Path
) -> None:
    path = write_csv(tmp_path, CSV_HEADER + CSV_ROWS)
    before = counts(db)
    report = import_register(
        db, berlin.settings, ADMIN, RegisterImport(city="berlin"), path, "acv-register.csv"
    )
    assert report["counts"] == {
        "rows": 9,
        "imported": 4,
        "would_import": 0,
        "skipped": 0,
        "unplaced": 3,
        "rejected": 2,
        "new_assets": 1,
    }
    bath = outcome_of(report, "THE OLD BATHHOUSE")
    assert bath["outcome"] == "imported" and bath["asset_id"] == assets["bathhouse"]
    assert bath["events"] == [
        {"kind": "nominated", "on": "2021-03-12"},
        {"kind": "listed", "on": "2021-04-30"},
    ]
    case = db.get(CommunityCase, bath["case_id"])
    assert case is not None and case.community_body_name == "Friends of the Baths" and case.kind == "acv"
    kinds = db.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id).order_by(CaseEvent.id))
    assert list(kinds) == ["nominated", "listed"]
    cafe = outcome_of(report, "Café Noir")
    assert cafe["asset_id"] == assets["cafe"] and cafe["events"] == [
        {"kind": "nominated", "on": "2022-02-03"}
    ]
    cafe_case = db.get(CommunityCase, cafe["case_id"])
    assert cafe_case is not None and cafe_case.community_body_kind == "community_interest_company"
    twins = outcome_of(report, "Twin Hall")
    assert twins["outcome"] == "unplaced"
    assert "ambiguous" in twins["reason"] and "no address" in twins["reason"]
    assert all(str(i) in twins["reason"] for i in assets["twins"])
    shop = outcome_of(report, "Corner Shop")
    assert shop["outcome"] == "imported" and shop["asset_id"] == assets["shop_low"]
    assert shop["events"][0] == {"kind": "nominated", "on": "2021-03-12"}
    pavilion = outcome_of(report, "Allotment Pavilion")
    assert pavilion["outcome"] == "imported" and pavilion["new_asset"]
    new_asset = db.get(Asset, pavilion["asset_id"])
    assert new_asset is not None and new_asset.category == "physical_space"
    assert new_asset.description == "3 Garden Lane" and new_asset.source == NEW_ASSET_SOURCE
    lido = outcome_of(report, "Lost Lido")
    assert (
        lido["outcome"] == "unplaced"
        and "no coordinates" in lido["reason"]
        and "place it on the map" in lido["reason"]
    )
    nameless = outcome_of(report, None)
    assert nameless["outcome"] == "unplaced" and "no name" in nameless["reason"]
    assert nameless["address"] == "7 Nowhere Street"
    us = outcome_of(report, "Old Bathhouse Annexe")
    assert us["outcome"] == "rejected" and "day first" in us["reason"]
    assert "not a day of the calendar" in outcome_of(report, "Old Bathhouse Garden")["reason"]
    assert {r["name"] for r in report["unplaced"]} == {
        "Twin Hall",
        "Lost Lido",
        None,
        "Old Bathhouse Annexe",
        "Old Bathhouse Garden",
    }
    # every case in the history, the new place in the assets' history
    cases_after, events_after, assets_after, changes_after = counts(db)
    assert cases_after - before[0] == 4 and assets_after - before[2] == 1
    assert events_after - before[1] == 6  # 4 nominations, 2 listings
    assert changes_after - before[3] == 4 + 2 + 1  # a case's opening and each event, and the new asset
    history = db.scalars(select(Change.action).where(Change.kind == "cases", Change.item_id == case.id))
    assert list(history) == ["create", "update"]
    # imported again: the rows already in are skipped, nothing doubles
    again = import_register(
        db, berlin.settings, ADMIN, RegisterImport(city="Berlin"), path, "acv-register.csv"
    )
    assert again["counts"]["skipped"] == 4 and again["counts"]["imported"] == 0  # the pavilion: its new asset
    assert outcome_of(again, "THE OLD BATHHOUSE")["case_id"] == bath["case_id"]


def test_a_dry_run_writes_nothing(
    db: Session, berlin: Berlin, assets: dict[str, Any], tmp_path: Path
) -> None:
    path = write_csv(tmp_path, CSV_HEADER + CSV_ROWS)
    before = counts(db)
    report = import_register(
        db, berlin.settings, ADMIN, RegisterImport(city="Berlin", dry_run=True), path, "acv-register.csv"
    )
    assert report["dry_run"] and report["counts"]["would_import"] == 4 and report["counts"]["imported"] == 0
    assert outcome_of(report, "Allotment Pavilion")["asset_id"] is None  # not kept
    assert all(row["case_id"] is None for row in report["rows"])
    assert counts(db) == before


def test_an_xlsx_register_with_excel_dates_and_a_decision_column(
    db: Session, berlin: Berlin, assets: dict[str, Any], tmp_path: Path
) -> None:
    path = write_xlsx(
        tmp_path,
        [
            ["old bathhouse", "1 Spa St", "Friends", dt.datetime(2021, 3, 12), 44317, "Successful - listed"],
            ["Corner shop", "12 High Street", "Savers", "12-Mar-2021", "12/04/2021", "Unsuccessful"],
            ["Twin Hall", "", "Parish", "", "", ""],
            ["Trafalgar Hall", "London", "Londoners", "01/01/2021", "", ""],
        ],
        ["NAME OF ASSET", "Address", "Nominating Body", "Date of nomination", "Decision date", "Outcome"],
    )
    report = import_register(db, berlin.settings, ADMIN, RegisterImport(city="Berlin"), path, "register.xlsx")
    bath = outcome_of(report, "old bathhouse")
    assert bath["events"] == [
        {"kind": "nominated", "on": "2021-03-12"},
        {"kind": "listed", "on": "2021-05-01"},
    ]
    shop = outcome_of(report, "Corner shop")
    assert shop["asset_id"] == assets["shop_high"]
    assert shop["events"][-1] == {"kind": "unsuccessful", "on": "2021-04-12"}
    assert "no date of nomination" in outcome_of(report, "Twin Hall")["reason"]
    assert outcome_of(report, "Trafalgar Hall")["outcome"] == "unplaced"


def test_bng_coordinates_outside_the_city_are_left_to_place(
    db: Session, berlin: Berlin, tmp_path: Path
) -> None:
    path = write_xlsx(
        tmp_path,
        [["Trafalgar Hall", "London", 530000, 180500, "01/01/2021"]],
        ["Name", "Address", "Easting", "Northing", "Nomination date"],
    )
    before = counts(db)
    report = import_register(db, berlin.settings, ADMIN, RegisterImport(city="Berlin"), path, "register.xlsx")
    row = report["rows"][0]
    assert row["outcome"] == "unplaced" and "outside every neighbourhood of Berlin" in row["reason"]
    assert counts(db) == before  # the row's new place was undone with it


def test_a_csv_with_easting_and_northing_and_control_characters(
    db: Session, berlin: Berlin, tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path,
        "Name,Easting,Northing,Date nominated,Nominated by\r\n"
        "Trafalgar Hall,530000,180500,01/01/2021,Londoners\r\n"
        "Esc\x07 Hall,,,01/01/2021,Bad\x1b[31m Body\r\n",
        "utf-8",
    )
    register = read_register(path, "r.csv")
    assert any("EPSG:27700" in note for note in register.notes)
    lon, lat = register.rows[0].point or (0.0, 0.0)
    assert -0.15 < lon < -0.10 and 51.50 < lat < 51.52
    report = import_register(db, berlin.settings, ADMIN, RegisterImport(city="Berlin"), path, "r.csv")
    assert "outside every neighbourhood" in report["rows"][0]["reason"]
    nul = report["rows"][1]
    assert nul["name"] == "Esc Hall" and nul["community_body"] == "Bad[31m Body"
    assert nul["outcome"] == "unplaced" and "no coordinates" in nul["reason"]


def test_a_decision_after_today_is_the_rules_refusal(
    db: Session, berlin: Berlin, assets: dict[str, Any], tmp_path: Path
) -> None:
    future = (dt.date.today() + dt.timedelta(days=30)).strftime("%d/%m/%Y")
    path = write_csv(tmp_path, CSV_HEADER + f"Old Bathhouse,,,Friends,01/01/2021,{future},Listed,,\r\n")
    before = counts(db)
    report = import_register(db, berlin.settings, ADMIN, RegisterImport(city="Berlin"), path, "r.csv")
    row = report["rows"][0]
    assert row["outcome"] == "rejected" and "after today" in row["reason"]
    assert counts(db) == before  # the case opened for the row is undone too


def test_the_user_maps_columns_by_any_case(
    db: Session, berlin: Berlin, assets: dict[str, Any], tmp_path: Path
) -> None:
    path = write_csv(
        tmp_path, "Premises called,Where,Received\r\nOld Bathhouse,1 Spa St,01/02/2021\r\n", "utf-8"
    )
    with pytest.raises(Exception, match="map one with --map name=COLUMN"):
        import_register(db, berlin.settings, ADMIN, RegisterImport(city="Berlin"), path, "r.csv")
    request = RegisterImport(city="Berlin", mapping={"NAME": "premises CALLED", "address": "where"})
    report = import_register(db, berlin.settings, ADMIN, request, path, "r.csv")
    assert report["mapping"] == {"name": "Premises called", "address": "Where", "nominated_on": "Received"}
    assert report["rows"][0]["outcome"] == "imported"
    with pytest.raises(Exception, match="has no column 'nope'"):
        import_register(
            db, berlin.settings, ADMIN, RegisterImport(city="Berlin", mapping={"name": "nope"}), path, "r.csv"
        )
    with pytest.raises(Exception, match="no field 'colour'"):
        import_register(
            db,
            berlin.settings,
            ADMIN,
            RegisterImport(city="Berlin", mapping={"colour": "Where"}),
            path,
            "r.csv",
        )


# --- the command line --------------------------------------------------------------------------------------------


@pytest.fixture
def assetmap(berlin: Berlin) -> Iterator[CliRunner]:
    """Commands against the session database; what they commit is removed afterwards."""
    with berlin.engine.connect() as conn:
        last_case = conn.execute(select(func.coalesce(func.max(CommunityCase.id), 0))).scalar_one()
        last_asset = conn.execute(select(func.coalesce(func.max(Asset.id), 0))).scalar_one()
    yield CliRunner(
        env={
            "ASSETMAP_DATABASE_URL": berlin.url,
            "ASSETMAP_ENVIRONMENT": "test",
            "ASSETMAP_SECRET_KEY": "test-secret-0123456789abcdef",
            "COLUMNS": "250",
        }
    )
    with berlin.engine.begin() as conn:
        conn.execute(delete(Change).where(Change.kind == "cases", Change.item_id > last_case))
        conn.execute(delete(CommunityCase).where(CommunityCase.id > last_case))
        conn.execute(delete(Change).where(Change.kind == "assets", Change.item_id > last_asset))
        conn.execute(delete(Asset).where(Asset.id > last_asset))


def test_the_command_line_and_its_exit_codes(assetmap: CliRunner, berlin: Berlin, tmp_path: Path) -> None:
    one_place = write_csv(
        tmp_path,
        "Name,Address,Nominated by,Date nominated,lon,lat\r\n"
        f"Riverside Café,1 River Walk,Friends,14/02/2022,{MITTE[0]},{MITTE[1]}\r\n",
    )
    with berlin.engine.connect() as conn:
        before = conn.execute(select(func.count()).select_from(CommunityCase)).scalar_one()
    dry = assetmap.invoke(cli, ["case", "import-register", str(one_place), "--city", "Berlin", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would import 1 of 1 rows" in dry.output and "nothing was written" in dry.output
    assert "not UTF-8" in dry.output
    with berlin.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(CommunityCase)).scalar_one() == before
    done = assetmap.invoke(cli, ["case", "import-register", str(one_place), "--city", "Berlin"])
    assert done.exit_code == 0, done.output
    assert "imported 1 of 1 rows (1 new places)" in done.output and "Riverside Café" in done.output
    again = assetmap.invoke(cli, ["case", "import-register", str(one_place), "--city", "Berlin"])
    assert again.exit_code == 0 and "1 imported before" in again.output
    left = write_csv(tmp_path, CSV_HEADER + "[red]Lost Lido[/],9 Pool Road,,Swimmers,01/07/2021,,,,\r\n")
    unplaced = assetmap.invoke(cli, ["case", "import-register", str(left), "--city", "Berlin"])
    assert unplaced.exit_code == 3, unplaced.output
    assert "[red]Lost Lido[/]" in unplaced.output  # printed as written, never read as markup
    assert "1 to place on the map" in unplaced.output
    unknown_city = assetmap.invoke(cli, ["case", "import-register", str(left), "--city", "Atlantis"])
    assert unknown_city.exit_code == 1 and "Atlantis" in unknown_city.output
    missing = assetmap.invoke(
        cli, ["case", "import-register", str(tmp_path / "none.csv"), "--city", "Berlin"]
    )
    assert missing.exit_code == 1 and "not a readable file" in missing.output
    bad_map = assetmap.invoke(
        cli, ["case", "import-register", str(left), "--city", "Berlin", "--map", "name"]
    )
    assert bad_map.exit_code == 1 and "field=COLUMN" in bad_map.output
    usage = assetmap.invoke(cli, ["case", "import-register", str(left)])
    assert usage.exit_code == 2


# --- the API -----------------------------------------------------------------------------------------------------


def post_register(
    client: TestClient,
    berlin: Berlin,
    role: str | None,
    content: bytes,
    filename: str = "register.csv",
    **fields: str,
) -> Any:
    data = {"city": "Berlin", **fields}
    return client.post(
        "/api/cases/import",
        data=data,
        files={"file": (filename, io.BytesIO(content), "text/csv")},
        headers=berlin.headers(role),
    )


def test_the_api_imports_and_dry_runs(client: TestClient, berlin: Berlin) -> None:
    asset = create_asset(client, berlin, name="Old Bathhouse", category="physical_space")
    content = (CSV_HEADER + CSV_ROWS).encode("cp1252")
    dry = post_register(client, berlin, "gis", content, dry_run="true")
    assert dry.status_code == 200, dry.text
    assert dry.json()["dry_run"] is True and dry.json()["counts"]["would_import"] >= 1
    assert client.get("/api/cases?city=Berlin", headers=berlin.headers("admin")).json()["items"] == [] or all(
        item["asset"]["id"] != asset["id"]
        for item in client.get("/api/cases?city=Berlin", headers=berlin.headers("admin")).json()["items"]
    )
    done = post_register(client, berlin, "admin", content)
    assert done.status_code == 200, done.text
    RegisterImportOut.model_validate(done.json())
    assert set(done.json()) == set(RegisterImportOut.model_fields)
    assert all(set(row) == set(RegisterRowOut.model_fields) for row in done.json()["rows"])
    bath = outcome_of(done.json(), "THE OLD BATHHOUSE")
    assert bath["outcome"] == "imported"
    case = client.get(f"/api/cases/{bath['case_id']}", headers=berlin.headers("admin")).json()
    assert case["stage"] in ("listed", "expired") and case["asset"]["id"] == asset["id"]
    assert "Lost Lido" in {row["name"] for row in done.json()["unplaced"]}


def test_an_organiser_imports_only_in_their_neighbourhoods(client: TestClient, berlin: Berlin) -> None:
    content = (
        "Name,Date nominated,lon,lat\r\n"
        f"Mitte Hall,01/02/2021,{MITTE[0]},{MITTE[1]}\r\n"
        f"Spandau Hall,01/02/2021,{SPANDAU[0]},{SPANDAU[1]}\r\n"
    ).encode()
    response = post_register(client, berlin, "organiser", content)
    assert response.status_code == 200, response.text
    body = response.json()
    assert outcome_of(body, "Mitte Hall")["outcome"] == "imported"
    spandau = outcome_of(body, "Spandau Hall")
    assert spandau["outcome"] == "unplaced" and "neighbourhood" in spandau["reason"]
    listed = f"Name,Date nominated,Date listed,lon,lat\r\nListed Hall,01/02/2021,01/03/2021,{MITTE[0]},{MITTE[1]}\r\n"
    decided = post_register(client, berlin, "organiser", listed.encode())
    row = decided.json()["rows"][0]
    assert row["outcome"] == "rejected" and "only a planner or an admin" in row["reason"]
    nominations = post_register(client, berlin, "organiser", listed.encode(), mapping='{"listed_on": ""}')
    row = nominations.json()["rows"][0]
    assert row["outcome"] == "imported" and row["events"] == [{"kind": "nominated", "on": "2021-02-01"}]
    assert "listed_on" not in nominations.json()["mapping"]
    gis = post_register(client, berlin, "gis", listed.replace("Listed Hall", "Other Hall").encode())
    assert gis.json()["rows"][0]["outcome"] == "rejected"  # GIS staff do not record decisions either


@pytest.mark.parametrize(("role", "status"), [(None, 401), ("contributor", 403), ("planner", 403)])
def test_who_may_not_import(client: TestClient, berlin: Berlin, role: str | None, status: int) -> None:
    response = post_register(client, berlin, role, b"Name,Date nominated\r\nHall,01/02/2021\r\n")
    assert response.status_code == status, response.text


def test_api_errors_say_what_to_do(client: TestClient, berlin: Berlin) -> None:
    csv = b"Name,Date nominated\r\nHall,01/02/2021\r\n"
    no_city = client.post(
        "/api/cases/import", files={"file": ("r.csv", io.BytesIO(csv))}, headers=berlin.headers("admin")
    )
    assert no_city.status_code == 422 and "city is required" in no_city.text
    unknown_city = post_register(client, berlin, "admin", csv, city="Atlantis")
    assert unknown_city.status_code == 404 and "Atlantis" in unknown_city.text
    no_file = client.post("/api/cases/import", data={"city": "Berlin"}, headers=berlin.headers("admin"))
    assert no_file.status_code == 422 and "file" in no_file.text
    not_json = post_register(client, berlin, "admin", csv, mapping="name=Asset")
    assert not_json.status_code == 422 and "JSON object" in not_json.text
    bad_column = post_register(client, berlin, "admin", csv, mapping='{"name": "Asset"}')
    assert bad_column.status_code == 422 and "'Name'" in bad_column.text  # the file's columns are named
    no_name = post_register(client, berlin, "admin", b"Where,When\r\nhere,01/02/2021\r\n")
    assert no_name.status_code == 422 and "--map name=COLUMN" in no_name.text
    picture = post_register(client, berlin, "admin", b"\x89PNG\r\n\x1a\n" + bytes(64), filename="r.png")
    assert picture.status_code == 422, picture.text
    binary = post_register(client, berlin, "admin", b"Name,Date nominated\r\nNul\x00 Hall,01/02/2021\r\n")
    assert binary.status_code == 422 and "CSV and XLSX" in binary.text
    empty = post_register(client, berlin, "admin", b"Name,Date nominated\r\n")
    assert empty.status_code == 422 and ("no rows" in empty.text or "holds no rows" in empty.text)
    unknown_field = post_register(client, berlin, "admin", csv, layer="assets")
    assert unknown_field.status_code == 422 and "unknown field 'layer'" in unknown_field.text
    polygon = b'Name,Date nominated,WKT\r\nField,01/02/2021,"POLYGON ((13.4 52.5, 13.41 52.5, 13.41 52.51, 13.4 52.5))"\r\n'
    area = post_register(client, berlin, "admin", polygon)
    assert area.status_code == 200 and "a register's place is a point" in area.json()["rows"][0]["reason"]
    bad_encoding = post_register(client, berlin, "admin", csv, encoding="rot13")
    assert bad_encoding.status_code == 422


def test_the_import_page(client: TestClient, berlin: Berlin) -> None:
    page = client.get("/cases/import?city=berlin", headers=berlin.headers("organiser"))
    assert page.status_code == 200, page.text
    assert 'id="register-import-form"' in page.text and "/static/js/case_import.js" in page.text
    assert '<option value="Berlin" selected>' in page.text
    assert "Rows to place on the map" in page.text and 'id="place-map"' in page.text
    assert client.get("/cases/import", headers=berlin.headers("contributor")).status_code == 403
    assert client.get("/cases/import").status_code == 401
    assert client.get("/cases/import?city=Atlantis", headers=berlin.headers("admin")).status_code == 404
    script = client.get("/static/js/case_import.js")
    assert script.status_code == 200 and "innerHTML" not in script.text  # cells are written as text only


def test_an_xlsx_through_the_api_and_its_sheets(client: TestClient, berlin: Berlin, tmp_path: Path) -> None:
    workbook = Workbook()
    listed = workbook.active
    assert listed is not None
    listed.title = "Listed"
    listed.append(["Asset", "Date nominated"])
    listed.append(["Wrong sheet hall", dt.datetime(2021, 3, 12)])
    refused = workbook.create_sheet("Unsuccessful nominations")
    refused.append(["Name of asset", "Nomination date", "lon", "lat"])
    refused.append(["Sheet Hall", 44267, *MITTE])
    path = tmp_path / "register.xlsx"
    workbook.save(path)
    content = path.read_bytes()
    answer = post_register(
        client, berlin, "admin", content, "register.xlsx", sheet="unsuccessful NOMINATIONS"
    )
    assert answer.status_code == 200, answer.text
    row = answer.json()["rows"][0]
    assert row["name"] == "Sheet Hall" and row["new_asset"] and row["events"][0]["on"] == "2021-03-12"
    assert answer.json()["format"] == "xlsx"
    missing = post_register(client, berlin, "admin", content, "register.xlsx", sheet="Removed")
    assert missing.status_code == 422 and "Listed, Unsuccessful nominations" in missing.text

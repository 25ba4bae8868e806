"""Sites as Taiwan addresses them (issue 13, item 6): postal code, city, district, street; the
local police and fire stations with numbers to tap; phones stored normalised, shown formatted."""

from __future__ import annotations

from sqlalchemy import select

from app.db import new_uuid, utcnow
from app.extensions import db
from app.incidents.models import AlarmResponse
from app.sites.models import Client, Site
from tests import factories
from tests.sites.test_registry import site_form

PLACE = {
    "postal_code": "110-06",
    "city": "臺北市",
    "district": "信義區",
    "address": "松仁路100號5樓",
    "police_station": "信義分局 三張犁派出所",
    "police_phone": "02 2729 5757 分機 12",
    "fire_station": "信義消防分隊",
    "fire_phone": "+886-2-2723-4119",
}


def test_a_site_is_saved_with_its_taiwan_address_and_stations(client, make_user, login):
    owner = factories.gen_client()
    db.session.commit()
    login(make_user("admin"))
    response = client.post("/sites/new", data=site_form(owner.id, **PLACE))
    assert response.status_code == 303
    site = db.session.scalar(select(Site).where(Site.code == "TPE-0100"))
    assert (site.postal_code, site.city, site.district, site.address) == (
        "11006",
        "臺北市",
        "信義區",
        "松仁路100號5樓",
    )
    assert site.police_phone == "0227295757#12" and site.fire_phone == "0227234119"
    assert site.full_address == "11006 臺北市信義區松仁路100號5樓"

    card = client.get(f"/sites/{site.id}?lang=zh_Hant_TW").text
    assert "11006 臺北市信義區松仁路100號5樓" in card
    assert 'href="tel:0227295757,12"' in card and "(02) 2729-5757 分機 12" in card
    assert 'href="tel:0227234119"' in card and "(02) 2723-4119" in card
    assert "信義分局 三張犁派出所" in card and "信義消防分隊" in card
    english = client.get(f"/sites/{site.id}?lang=en").text
    assert "(02) 2729-5757 ext. 12" in english

    form = client.get(f"/sites/{site.id}/edit?lang=en").text
    assert 'value="(02) 2729-5757 ext. 12"' in form  # the stored number, shown formatted
    assert '<option selected value="臺北市">' in form


def test_the_site_form_explains_bad_addresses_and_numbers(client, make_user, login):
    owner = factories.gen_client()
    db.session.commit()
    login(make_user("admin"))

    def errors(**fields):
        return client.post("/sites/new?lang=en", data=site_form(owner.id, **fields)).text

    assert "3, 5 or 6 digits" in errors(postal_code="1100")
    assert "3, 5 or 6 digits" in errors(postal_code="abc")
    assert "Not a valid choice" in errors(city="東京都")
    assert "A district ends in 區, 鄉, 鎮 or 市" in errors(city="臺北市", district="信義")
    assert "Choose the city or county of this district." in errors(district="信義區")
    page = errors(police_station="三張犁派出所", police_phone="2729-5757")
    assert "Start with the area code" in page
    page = errors(fire_station="信義消防分隊", fire_phone="02-2723-411")
    assert "too many or too few digits" in page
    page = errors(police_phone="(02) 2729-5757")
    assert "Give the station's name with its number." in page
    assert db.session.scalar(select(Site)) is None


def test_a_site_without_the_new_fields_still_saves(client, make_user, login):
    """Sites registered before keep their whole address in the street field."""
    owner = factories.gen_client()
    db.session.commit()
    login(make_user("admin"))
    assert client.post("/sites/new", data=site_form(owner.id)).status_code == 303
    site = db.session.scalar(select(Site))
    assert (site.postal_code, site.city, site.district, site.police_phone) == ("", "", "", "")
    assert site.full_address == "臺北市中正區重慶南路一段122號"
    card = client.get(f"/sites/{site.id}?lang=en").text
    assert "臺北市中正區重慶南路一段122號" in card and "tel:" not in card


def test_the_alarm_page_shows_the_police_and_fire_numbers(client, make_user, login):
    site = factories.gen_site(
        police_station="信義分局 三張犁派出所",
        police_phone="0227295757",
        fire_station="信義消防分隊",
        fire_phone="0227234119",
    )
    supervisor = make_user("supervisor")
    factories.assign(supervisor, site)
    alarm = AlarmResponse(
        uuid=new_uuid(), site=site, received_at=utcnow(), created_by_id=supervisor.id
    )
    db.session.add(alarm)
    db.session.commit()
    login(supervisor)
    page = client.get(f"/alarms/{alarm.id}?lang=zh_Hant_TW").text
    assert 'href="tel:0227295757"' in page and "(02) 2729-5757" in page
    assert 'href="tel:0227234119"' in page and "(02) 2723-4119" in page
    assert "信義分局 三張犁派出所" in page


def test_client_main_phone_is_stored_normalised_and_shown_formatted(app, client, make_user, login):
    login(make_user("admin"))
    response = client.post(
        "/clients/new",
        data={"name": "信義商辦管委會", "main_phone": "（０２）２７２０－１２３４ #9"},
    )
    assert response.status_code == 303
    owner = db.session.scalar(select(Client))
    assert owner.main_phone == "0227201234#9"
    page = client.post("/clients/new?lang=en", data={"name": "X", "main_phone": "555-1234"}).text
    assert "Start with the area code" in page
    reader = app.test_client()
    login(make_user("manager"), test_client=reader)
    shown = reader.get(f"/clients/{owner.id}?lang=zh_Hant_TW").text
    assert 'href="tel:0227201234,9"' in shown and "(02) 2720-1234 分機 9" in shown

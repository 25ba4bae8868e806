"""Distance and check-in verdicts."""

import pytest

from app.sites.geo import distance_m, verdict

TAIPEI_101 = (25.033964, 121.564468)


def test_distance_of_a_known_pair():
    # Taipei 101 to Taipei Main Station: about 5.9 km.
    assert distance_m(*TAIPEI_101, 25.047760, 121.517050) == pytest.approx(5_020, rel=0.03)


def test_distance_is_zero_for_the_same_point_and_symmetric():
    assert distance_m(*TAIPEI_101, *TAIPEI_101) == 0
    a = distance_m(*TAIPEI_101, 25.0, 121.5)
    assert a == pytest.approx(distance_m(25.0, 121.5, *TAIPEI_101))


def test_one_thousandth_of_a_degree_north_is_about_111_metres():
    assert distance_m(25.0, 121.5, 25.001, 121.5) == pytest.approx(111.2, abs=0.5)


def site(**fix):
    return verdict(site_lat=25.0, site_lon=121.5, geofence_m=150, **fix)


def test_inside_the_geofence_is_on_site():
    result, distance = site(lat=25.001, lon=121.5, accuracy_m=10)
    assert result == "on_site" and distance == pytest.approx(111, abs=1)


def test_outside_the_geofence_is_off_site():
    assert site(lat=25.01, lon=121.5, accuracy_m=10)[0] == "off_site"


def test_accuracy_gives_up_to_100_m_of_benefit_of_the_doubt():
    # 200 m away: on site with ±80 m (150 + 80 ≥ 200), off site with ±20 m.
    lat = 25.0 + 200 / 111_195
    assert site(lat=lat, lon=121.5, accuracy_m=80)[0] == "on_site"
    assert site(lat=lat, lon=121.5, accuracy_m=20)[0] == "off_site"
    # never more than 100 m of allowance, however poor the fix
    far = 25.0 + 300 / 111_195
    assert site(lat=far, lon=121.5, accuracy_m=400)[0] == "off_site"


def test_a_coarse_fix_is_no_fix_but_keeps_its_distance():
    result, distance = site(lat=25.0, lon=121.5, accuracy_m=1500)
    assert result == "no_fix" and distance == 0


@pytest.mark.parametrize(
    "fix",
    [
        {"lat": None, "lon": None, "accuracy_m": None},
        {"lat": 25.0, "lon": None, "accuracy_m": 5},
        {"lat": 95.0, "lon": 121.5, "accuracy_m": 5},
    ],
)
def test_missing_or_impossible_positions_are_no_fix(fix):
    assert site(**fix) == ("no_fix", None)


def test_a_site_without_coordinates_gives_no_fix():
    assert verdict(
        site_lat=None, site_lon=None, geofence_m=150, lat=25.0, lon=121.5, accuracy_m=5
    ) == ("no_fix", None)

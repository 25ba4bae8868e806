"""The axe-core audit that runs on every page the browser tests visit (issue 15, item 4)."""

from __future__ import annotations

from tests.e2e.conftest import route_pattern


def test_the_audit_on_every_browser_test_catches_an_inaccessible_page(page, axe_audit):
    axe_audit.automatic = False  # or the real login page would count as audited
    page.context.add_init_script(
        """document.addEventListener("DOMContentLoaded", () => {
            const image = document.createElement("img");
            image.className = "no-words";
            image.src = "/static/icons/icon-192.png";
            document.querySelector("main").appendChild(image);
        });"""
    )
    page.goto(page.base_url + "/login")
    axe_audit.audit(page, again=True)
    assert any("image-alt" in v and ".no-words" in v for v in axe_audit.violations), (
        axe_audit.violations
    )
    # Seen: this test is about the audit itself.
    axe_audit.violations.clear()


def test_the_pages_of_a_route_are_audited_once():
    assert route_pattern("/incidents/12?status=open") == route_pattern("/incidents/31")
    assert route_pattern("/s/Ab3_x/checkin") == "/s/<token>/checkin"
    assert route_pattern("/reset/" + "x" * 32) == "/reset/<token>"


def test_a_route_that_failed_its_audit_fails_every_test_that_loads_it_later(tmp_path):
    """A rerun finds the route claimed: it must not pass where the first audit failed."""
    from tests.e2e.conftest import AxeAudit

    first, later = AxeAudit(tmp_path), AxeAudit(tmp_path)
    claim = first.claim("en /outbox")
    claim.write_text("http://127.0.0.1/outbox (en): link-name [serious] ...")
    assert later.claim("en /outbox") is None
    assert later.violations == ["http://127.0.0.1/outbox (en): link-name [serious] ..."]
    assert AxeAudit(tmp_path).claim("zh-Hant-TW /outbox") is not None

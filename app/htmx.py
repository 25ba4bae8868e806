"""Small helpers for htmx requests: detect them, render fragments, redirect them."""

from __future__ import annotations

from flask import Response, redirect, render_template, request


def is_htmx() -> bool:
    """True for a request sent by htmx (boosted links and forms included)."""
    return request.headers.get("HX-Request") == "true"


def is_boosted() -> bool:
    return request.headers.get("HX-Boosted") == "true"


def wants_fragment() -> bool:
    """htmx asked for a part of the page, not a whole boosted page."""
    return is_htmx() and not is_boosted()


def render(template: str, partial: str | None = None, **context) -> str:
    """The fragment for a targeted htmx request, else the whole page that includes it."""
    if partial and wants_fragment():
        return render_template(partial, **context)
    return render_template(template, **context)


def hx_redirect(url: str) -> Response:
    """Redirect after a POST: HX-Redirect for htmx (a full navigation), 303 for a plain form."""
    if wants_fragment():
        response = Response(status=204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, code=303)


def add_vary(response: Response) -> Response:
    """A cache must not serve a fragment for a page or the other way round."""
    response.vary.add("HX-Request")
    return response

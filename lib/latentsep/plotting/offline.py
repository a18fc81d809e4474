"""Charts that render offline: altair specs drawn by the book's local vega bundle."""


from __future__ import annotations

import json
import uuid

import altair as alt

_RENDERER = "latentsep_offline"


def offline_chart_html(spec: dict) -> str:
    """A chart as HTML: a ``<div>`` drawn by ``vegaEmbed`` from the book's local vega bundle, with
    a static SVG inside ``<noscript>``."""
    div_id = f"vega-{uuid.uuid4().hex[:12]}"
    try:
        import vl_convert as vlc

        svg = vlc.vegalite_to_svg(spec)
    except Exception:  # the SVG is only a no-JS fallback; the interactive chart still renders
        svg = ""
    return (
        f'<div id="{div_id}" class="latentsep-chart"></div>'
        f"<noscript>{svg}</noscript>"
        "<script type=\"text/javascript\">"
        f"(function(){{var spec={json.dumps(spec)};"
        "function draw(){if(window.latentsepVega){"
        f"window.latentsepVega.vegaEmbed('#{div_id}',spec,{{actions:false}});}}"
        "else{setTimeout(draw,50);}}draw();})();</script>"
    )


def _offline_renderer(spec: dict, **_: object) -> dict:
    return {"text/html": offline_chart_html(spec), "text/plain": "<altair chart>"}


def enable_offline_renderer() -> None:
    """Render charts against the local vega bundle (see ``latentsep.booktools.bookrun.write_vega_bundle``)."""
    if _RENDERER not in alt.renderers.names():
        alt.renderers.register(_RENDERER, _offline_renderer)
    alt.renderers.enable(_RENDERER)
    alt.data_transformers.disable_max_rows()

"""The framework's floor: a bare Streamlit page of 4 tiles, 4 Altair charts and a pydeck map on precomputed data."""

import os

import altair as alt
import numpy as np
import pandas as pd
import pydeck as pdk
import streamlit as st

# As many municipalities and weeks as the app's Overview draws for the same data (the benchmark sets them).
PLACES = int(os.environ.get("RELAIS_FLOOR_PLACES", "18"))
WEEKS = int(os.environ.get("RELAIS_FLOOR_WEEKS", "12"))
HEATMAP_ROWS = 30
QUEBEC = {"latitude": 46.8, "longitude": -71.2, "zoom": 5}


@st.cache_resource
def floor_content(places: int, weeks: int) -> tuple[list[alt.Chart], pdk.Deck]:
    """The charts and the map, built once: the page itself runs no query and computes nothing."""
    rng = np.random.default_rng(42)
    names = [f"Municipalité {index:04d}" for index in range(places)]
    labels = [f"2026-W{week + 1:02d}" for week in range(weeks)]
    weekly = pd.DataFrame({"week": labels * 3, "series": np.repeat(["count", "average", "last year"], weeks),
                           "interventions": rng.poisson(20, weeks * 3)})
    busiest = names[:HEATMAP_ROWS]
    heat = pd.DataFrame({"municipality": np.repeat(busiest, weeks), "week": labels * len(busiest),
                         "interventions": rng.poisson(3, weeks * len(busiest))})
    table = pd.DataFrame({"municipality": names, "interventions": rng.poisson(40, places),
                          "latitude": rng.uniform(45.1, 48.8, places), "longitude": rng.uniform(-79.0, -64.8, places)})
    charts = [
        alt.Chart(weekly).mark_line(point=True).encode(x="week:O", y="interventions:Q", color="series:N",
                                                        tooltip=["week", "series", "interventions"]),
        alt.Chart(heat).mark_rect().encode(x="week:O", y="municipality:N", color="interventions:Q",
                                           tooltip=["municipality", "week", "interventions"]),
        alt.Chart(table).mark_bar().encode(x="interventions:Q", y=alt.Y("municipality:N", sort="-x"),
                                           tooltip=["municipality", "interventions"]),
        alt.Chart(weekly).mark_bar().encode(x="week:O", y="sum(interventions):Q", tooltip=["week"]),
    ]
    layer = pdk.Layer("ColumnLayer", data=table, get_position=["longitude", "latitude"], get_elevation="interventions",
                      elevation_scale=500, radius=3_000, get_fill_color=[31, 95, 139, 200], extruded=True,
                      pickable=True)
    deck = pdk.Deck(layers=[layer], initial_view_state=pdk.ViewState(**QUEBEC, pitch=40), map_style=None,
                    tooltip={"html": "{municipality}: {interventions}"})
    return charts, deck


st.set_page_config(page_title="Floor", layout="wide")
st.title("Floor")
charts, deck = floor_content(PLACES, WEEKS)
for column, (label, value) in zip(st.columns(4), (("Interventions", "1 234"), ("Arrests", "567"),
                                                   ("Rate per 1,000", "3,10"), ("Repeat", "89"))):
    column.metric(label, value)
for chart in charts:
    st.altair_chart(chart, width="stretch")
st.pydeck_chart(deck, width="stretch")

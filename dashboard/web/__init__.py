"""Streamlit only: cached queries and charts, language, sidebar and URL state, widgets shared by the pages."""

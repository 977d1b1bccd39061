"""Channel Health: page navigation and the shared sidebar (data freshness and filters)."""

import streamlit as st

from pages.shared import data_sidebar, sidebar_filters

st.set_page_config(page_title="Channel Health", page_icon=":material/hub:", layout="wide")

page = st.navigation(
    [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/tiers.py", title="Tiers", icon=":material/stacked_bar_chart:"),
        st.Page("pages/dropoffs.py", title="Revenue drop-offs", icon=":material/trending_down:"),
        st.Page("pages/engagement.py", title="Engagement and fit", icon=":material/handshake:"),
        st.Page("pages/partner.py", title="Partner", icon=":material/storefront:", url_path="partner"),
    ]
)
data_sidebar()
sidebar_filters()
page.run()

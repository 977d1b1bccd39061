"""Channel Health: page navigation only. The shared sidebar is drawn by each page (pages/shared.py)."""

import streamlit as st

st.set_page_config(page_title="Channel Health", page_icon=":material/hub:", layout="wide")

st.navigation(
    [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/tiers.py", title="Tiers", icon=":material/stacked_bar_chart:"),
        st.Page("pages/dropoffs.py", title="Revenue drop-offs", icon=":material/trending_down:"),
        st.Page("pages/engagement.py", title="Engagement and fit", icon=":material/handshake:"),
        st.Page("pages/partner.py", title="Partner", icon=":material/storefront:", url_path="partner"),
    ]
).run()

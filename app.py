"""Channel Health: page navigation and the shared sidebar (data freshness and filters)."""

import streamlit as st

from views.shared import data_sidebar, sidebar_filters

st.set_page_config(page_title="Channel Health", page_icon=":material/hub:", layout="wide")

# The page scripts live in views/, not pages/: with a folder named pages/ beside it, Streamlit 1.67
# runs a deep link (a shared URL) as a legacy multipage app, skipping this file and its navigation.
page = st.navigation(
    [
        st.Page("views/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("views/tiers.py", title="Tiers", icon=":material/stacked_bar_chart:"),
        st.Page("views/dropoffs.py", title="Revenue drop-offs", icon=":material/trending_down:"),
        st.Page("views/engagement.py", title="Engagement and fit", icon=":material/handshake:"),
        st.Page("views/risk.py", title="Partners at risk", icon=":material/warning:"),
        st.Page("views/model.py", title="Model", icon=":material/model_training:"),
        st.Page("views/review.py", title="Annual review", icon=":material/fact_check:"),
        st.Page("views/partner.py", title="Partner", icon=":material/storefront:", url_path="partner"),
        st.Page("views/upload.py", title="Upload extracts", icon=":material/upload_file:"),
    ]
)
data_sidebar()
sidebar_filters()
page.run()

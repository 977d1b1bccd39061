"""Channel Health: page navigation and the page setup every page shares."""

import streamlit as st

st.set_page_config(page_title="Channel Health", page_icon=":material/hub:", layout="wide")

# The shared sidebar (data freshness, filters) is drawn by pages.shared.page_chrome(), which every
# page calls first, so that each page also runs whole when AppTest opens it on its own.
st.navigation(
    [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
        st.Page("pages/tiers.py", title="Tiers", icon=":material/stacked_bar_chart:"),
        st.Page("pages/dropoffs.py", title="Revenue drop-offs", icon=":material/trending_down:"),
        st.Page("pages/engagement.py", title="Engagement and fit", icon=":material/handshake:"),
        st.Page("pages/partner.py", title="Partner", icon=":material/storefront:", url_path="partner"),
    ]
).run()

"""Channel Health: page navigation and the shared sidebar."""

import streamlit as st

from pages.shared import data_sidebar

st.set_page_config(page_title="Channel Health", page_icon=":material/hub:", layout="wide")

page = st.navigation(
    [
        st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    ]
)
data_sidebar()
page.run()

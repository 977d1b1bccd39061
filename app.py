"""Channel Health: page navigation by role, and the shared sidebar (who is signed in, data freshness, filters)."""

from pathlib import Path

import streamlit as st

from views.auth import current_actor, identity_sidebar, sign_in_page
from views.db import database
from views.saved_views import saved_views_sidebar
from views.scores import keep_scores_fresh
from views.sidebar import data_sidebar, remember_page, sidebar_filters
from views.style import page_style

# The icon is served by the app itself: a Material icon as page_icon makes every viewer's browser fetch
# the favicon from fonts.gstatic.com.
st.set_page_config(page_title="Channel Health", page_icon=str(Path(__file__).parent / "views" / "icon.png"),
                   layout="wide")
page_style()

actor = current_actor()
if actor is None:  # sign-in is set up and nobody is signed in: nothing but the way in
    st.navigation([st.Page(sign_in_page, title="Sign in", icon=":material/login:")]).run()
    st.stop()

# The page scripts live in views/pages/, not in a top-level pages/: with a folder named pages/ beside it,
# Streamlit 1.67 runs a deep link (a shared URL) as a legacy multipage app, skipping this file and its
# navigation. A page's URL is its file's stem, so moving a script keeps its shared links.
# Pages that only change data are listed for the roles that may use them (the engine checks too).
pages = [
    st.Page("views/pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("views/pages/tiers.py", title="Tiers", icon=":material/stacked_bar_chart:"),
    st.Page("views/pages/dropoffs.py", title="Revenue drop-offs", icon=":material/trending_down:"),
    st.Page("views/pages/engagement.py", title="Engagement and fit", icon=":material/handshake:"),
    st.Page("views/pages/recruits.py", title="Recruits and ramp", icon=":material/person_add:"),
    st.Page("views/pages/distributors.py", title="Distributors", icon=":material/local_shipping:"),
    st.Page("views/pages/risk.py", title="Partners at risk", icon=":material/warning:"),
    st.Page("views/pages/model.py", title="Model", icon=":material/model_training:"),
    st.Page("views/pages/review.py", title="Annual review", icon=":material/fact_check:"),
    st.Page("views/pages/partner.py", title="Partner", icon=":material/storefront:", url_path="partner"),
]
if actor.may("load") or actor.may("roll back"):
    pages.append(st.Page("views/pages/upload.py", title="Upload extracts", icon=":material/upload_file:"))
page = st.navigation(pages)
remember_page(page)
identity_sidebar(actor)
with database():
    data_sidebar()
    sidebar_filters(actor.regions)
    saved_views_sidebar(actor, page, pages)
    keep_scores_fresh()
    page.run()

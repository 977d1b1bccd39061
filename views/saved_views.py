"""The sidebar's saved views: save the page as it is now under a name, and open or delete one's own views."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

import streamlit as st
from streamlit.navigation.page import StreamlitPage

from analytics.access import Actor
from analytics.formatting import markdown_literal
from analytics.saved_views import MAX_NAME, delete_view, list_views, owner_from_claims, save_view
from analytics.store.faults import StoreError
from views.auth import auth_configured
from views.db import get_store

__all__ = ["view_owner", "saved_views_sidebar"]


def view_owner(actor: Actor) -> str | None:
    """Give whose views these are: "local" in local single-user mode, else the signed-in person's stable id.

    That is their e-mail address, or the token's issuer and subject when the provider sends no e-mail
    (analytics.saved_views.owner_from_claims); None when the token has neither.
    """
    if not auth_configured():
        return "local"
    return owner_from_claims(st.user.to_dict())


def saved_views_sidebar(actor: Actor, page: StreamlitPage, pages: list[StreamlitPage]) -> None:
    """Offer in the sidebar to save this page's view by name, and to open or delete the person's saved views.

    A view is the page and its URL's query string: what a shared link carries. Every role may keep
    views of its own (no channel data changes); opening one goes to its page with its filters.
    """
    owner, store = view_owner(actor), get_store()
    with st.sidebar.expander("Saved views", icon=":material/bookmark:"):
        if owner is None:
            st.caption("Saved views need an e-mail address or a subject id from the sign-in provider, and it "
                       "sent neither.")
            return
        name = st.text_input("Save this view as", key="view_name", max_chars=MAX_NAME,
                             placeholder="Gold partners in EMEA")
        if st.button("Save view", key="view_save", icon=":material/bookmark_add:"):
            query = urlencode({k: st.query_params.get_all(k) for k in st.query_params}, doseq=True)
            try:
                new = save_view(store, owner, name, page.url_path, query)
            except (ValueError, StoreError) as exc:
                st.error(markdown_literal(str(exc)))
            else:
                st.success(f"{'Saved' if new else 'Updated'} “{markdown_literal(name.strip())}”.")
        views = list_views(store, owner)
        if views.empty:
            st.caption("No saved views yet: set the filters, name the view and save it.")
            return
        offered = {p.url_path: p for p in pages}
        where = dict(zip(views["name"], views["page"], strict=True))
        titles = {n: offered[u].title if u in offered else "a page not offered to you" for n, u in where.items()}
        # Option labels are plain text, so a name shows as typed.
        pick = st.selectbox("Your views", list(views["name"]), key="view_pick",
                            format_func=lambda n: f"{n} · {titles[n]}")
        left, right = st.columns(2)
        if left.button("Open", key="view_open", icon=":material/open_in_browser:"):
            target = offered.get(where[pick])
            if target is None:
                st.warning(f"“{markdown_literal(pick)}” shows a page your role is not offered.")
            else:
                query = views.loc[views["name"] == pick, "query"].iloc[0]
                st.switch_page(target, query_params=parse_qs(query))
        if right.button("Delete", key="view_delete", icon=":material/delete:"):
            delete_view(store, owner, pick)
            st.rerun()

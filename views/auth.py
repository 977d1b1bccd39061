"""Who is using the app: sign-in, the person's role, and the sidebar line that says so."""

from __future__ import annotations

import streamlit as st
from streamlit.errors import StreamlitAuthError

from analytics.access import Actor, actor_from_claims, load_roles, local_actor
from analytics.formatting import markdown_literal

__all__ = ["auth_configured", "current_actor", "sign_in_page", "identity_sidebar"]


def auth_configured() -> bool:
    """Tell whether sign-in is set up: an [auth] section in .streamlit/secrets.toml (st.login / st.user)."""
    try:
        return "auth" in st.secrets
    except FileNotFoundError:  # no secrets file at all
        return False


def _signed_in() -> tuple[Actor | None, str | None]:
    """Give the signed-in person's actor and the note on a limited role, or (None, None) when nobody is signed in."""
    user = st.user.to_dict()
    if not user.get("is_logged_in"):
        return None, None
    return actor_from_claims(user, load_roles())


def current_actor() -> Actor | None:
    """Give who is using the app with their role, or None when sign-in is set up and nobody is signed in.

    Without sign-in the app runs in local single-user mode: the person at the machine, as admin.
    Signed in, the engine decides the role from the ID token's claims (analytics.access.actor_from_claims).
    AppTest fakes a signed-in person through `at.user` (read here as st.user) and sign-in through
    `at.secrets["auth"]`, so no test-only path is needed.
    """
    if not auth_configured():
        return local_actor()
    return _signed_in()[0]


def sign_in_page() -> None:
    """The only page offered when sign-in is set up and nobody is signed in."""
    st.title("Channel Health")
    st.write("Sign in to see the channel's figures.")
    if st.button("Sign in", key="sign_in", type="primary", icon=":material/login:"):
        try:
            st.login()
        except StreamlitAuthError as exc:  # an [auth] section that is incomplete: say so, not a trace
            st.error(f"Sign-in is set up in .streamlit/secrets.toml but cannot be used: {exc} "
                     "See .streamlit/secrets.toml.example.")


def identity_sidebar(actor: Actor | None) -> None:
    """Say in the sidebar who is signed in with which role, or that the app runs in local single-user mode."""
    with st.sidebar:
        if not auth_configured():
            st.caption(f"Local single-user mode: no sign-in is configured, so {markdown_literal(actor.who)} may do "
                       "everything (admin), and the app answers on this machine only (127.0.0.1). Set up sign-in "
                       "in .streamlit/secrets.toml to give people roles; then open it to the network with "
                       "`streamlit run app.py --server.address 0.0.0.0`.")
        elif actor is not None:
            # The name comes from the provider's token: shown as written, never as Markdown.
            scope = f" · regions: **{markdown_literal(', '.join(actor.regions))}** only" if actor.regions else ""
            st.caption(f"Signed in as {markdown_literal(actor.who)} · role: **{actor.role}**{scope}")
            note = _signed_in()[1]
            if note:
                st.warning(note, icon=":material/gpp_maybe:")
            if st.button("Sign out", key="sign_out", icon=":material/logout:"):
                st.logout()

"""Placeholder until the page is built."""

import streamlit as st

st.title("tiers")
st.info("Coming next.")

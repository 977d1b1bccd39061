"""Placeholder until the page is built."""

import streamlit as st

st.title("partner")
st.info("Coming next.")

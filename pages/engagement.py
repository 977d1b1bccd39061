"""Placeholder until the page is built."""

import streamlit as st

st.title("engagement")
st.info("Coming next.")

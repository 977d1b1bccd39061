"""Placeholder until the page is built."""

import streamlit as st

st.title("dropoffs")
st.info("Coming next.")

"""Channel Health engine: store, importer, analyses and demo data. Never imports streamlit."""

"""Reading, checking and loading extracts: upload limits, the extract reader, remembered column mappings,
loads and rollback."""

"""Upload: quarterly sales extracts from the browser: preview, mapping and report first, then load or roll back.

Each file, the exchange rates and the loads are sections of their own (views/upload_file.py,
upload_rates.py, upload_loads.py); what loading a file asks is decided in analytics.ingest.load_choice.
"""

import streamlit as st

from analytics.formatting import markdown_literal
from analytics.ingest.limits import limits_text
from analytics.store.currencies import ISO_4217
from analytics.store.faults import StoreError
from analytics.store.rates import reporting_currency
from views.auth import current_actor
from views.db import get_store
from views.upload_file import file_section
from views.upload_loads import loads_section
from views.upload_rates import rates_section

st.title("Upload extracts")
store = get_store()
actor = current_actor()
may_load = actor is not None and actor.may("load")
may_roll_back = actor is not None and actor.may("roll back")
st.caption(
    f"CSV (`,` `;` tab or `|` separated) or Excel .xlsx, {limits_text()}. Each file is read and "
    "checked first; nothing is written until you press Load, and a file with problems writes nothing."
)
try:
    REPORTING = reporting_currency()
except StoreError as exc:
    st.error(markdown_literal(str(exc)))
    st.stop()
if may_load:
    files = st.file_uploader(
        "Sales extracts", type=["csv", "txt", "xlsx"], accept_multiple_files=True, key="uploads",
        help="One row per order line (or per partner and quarter): partner id, date or quarter, revenue.",
    )
    # The reporting currency first: choosing it is the same as choosing none (the file's amounts are taken as is).
    chosen_currency = st.selectbox(
        "Currency of the amounts", [REPORTING, *sorted(ISO_4217 - {REPORTING})], key="file_currency",
        help=f"Used for a file that names no currency: no currency column, and no code in the amount's header "
             f"(like “Amount (AUD)”). Lines in another currency than {REPORTING}, the reporting currency, are "
             "converted at their quarter's exchange rate (Exchange rates, below).",
    )
    file_currency = None if chosen_currency == REPORTING else chosen_currency
else:
    files, file_currency = [], None
    # The name comes from the sign-in token: a ":material/...:" or ":red[...]" in it is shown as written.
    st.info(f"Loading extracts takes the operator or admin role; {markdown_literal(actor.who) if actor else 'you'} "
            f"{'is ' + actor.role if actor else 'are not signed in'}.")

for i, upload in enumerate(files or []):
    file_section(i, upload, store, actor, file_currency, REPORTING)

st.divider()
st.subheader("Exchange rates")
rates_section(store, actor, may_load, REPORTING)

st.divider()
st.subheader("Loads")
loads_section(store, actor, may_roll_back)

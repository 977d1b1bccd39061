"""The canonical extract columns, their synonyms, and the database schema with its migrations."""

from __future__ import annotations

import re
from collections.abc import Collection

from analytics.store.currencies import ISO_4217

__all__ = [
    "REQUIRED",
    "OPTIONAL",
    "CANONICAL_COLUMNS",
    "LINE_COLUMNS",
    "SYNONYMS",
    "SEGMENTS",
    "TIERS",
    "SCHEMA_VERSION",
    "MIGRATIONS",
    "REDERIVE_AT",
    "normalise_header",
    "match_columns",
    "column_candidates",
    "ordered_tiers",
]

# partner_id, revenue and one of order_date / quarter are required; see match_columns.
REQUIRED = ("partner_id", "revenue")
OPTIONAL = (
    "transaction_id",
    "order_date",
    "quarter",
    "partner_name",
    "tier",
    "region",
    "country",
    "distributor",
    "customer_id",
    "customer_segment",
    "customer_size",
    "product",
    "quantity",
    "deal_type",
    "contact_email",
    "currency",
)
CANONICAL_COLUMNS = REQUIRED + OPTIONAL

# The columns of an order line, in the order order_lines stores them (load_id comes on write):
# the one list that extracts are prepared into, loads insert and the demo writes (without row_no).
# `amount` and `currency` are the line as in the file; `revenue` is that amount in the reporting currency,
# converted on the way in (analytics.ingest.load) at the quarter's rate (analytics.store.rates).
LINE_COLUMNS = (
    "row_no", "transaction_id", "partner_id", "partner_name", "tier", "region", "country",
    "distributor", "customer_id", "customer_segment", "product", "quantity", "deal_type",
    "order_date", "quarter", "revenue", "contact_email", "amount", "currency",
)

SEGMENTS = ("SMB", "Mid-market", "Enterprise")
TIERS = ("Platinum", "Gold", "Silver", "Bronze", "Authorized")  # highest first

# Header spellings seen in real extracts, compared after normalise_header (lower case, letters and
# digits only), so "Partner ID", "partner_id" and "PARTNER-ID" are all "partnerid".
SYNONYMS: dict[str, tuple[str, ...]] = {
    "partner_id": (
        "partnerid", "partner", "partnerno", "partnernumber", "partnercode", "partnerkey",
        "resellerid", "reseller", "resellerno", "resellernumber", "resellercode",
        "channelpartnerid", "channelpartner", "dealerid", "dealer", "solutionproviderid",
    ),
    "partner_name": (
        "partnername", "resellername", "dealername", "channelpartnername", "partnercompany",
        "companyname", "partneraccountname",
    ),
    "order_date": (
        "orderdate", "date", "bookingdate", "bookeddate", "booking", "invoicedate", "transactiondate",
        "closedate", "closeddate", "saledate", "salesdate", "shipdate", "documentdate",
        "postingdate", "orderdt", "dateoforder",
    ),
    "quarter": (
        "quarter", "fiscalquarter", "qtr", "fiscalqtr", "salesquarter", "yearquarter", "period",
        "fiscalperiod", "calendarquarter",
    ),
    "revenue": (
        "revenue", "amount", "amountusd", "amounteur", "amountgbp", "revenueusd", "netrevenue",
        "sales", "salesamount", "salesusd", "netsales", "netamount", "totalamount", "total",
        "bookingamount", "bookings", "bookingvalue", "extendedprice", "lineamount",
        "invoiceamount", "value", "revenueamount", "linerevenue",
    ),
    "transaction_id": (
        "transactionid", "transaction", "txnid", "transactionno", "transactionnumber",
        "orderlineid", "orderline", "lineid", "invoicelineid", "salesid", "recordid",
    ),
    "tier": ("tier", "partnertier", "partnerlevel", "programlevel", "programtier", "level"),
    "region": ("region", "salesregion", "geo", "geography", "territory", "theater", "theatre"),
    "country": ("country", "countrycode", "countryname", "partnercountry"),
    "distributor": ("distributor", "distributorname", "disti", "distiname", "distributorid"),
    "customer_id": (
        "customerid", "customer", "customerno", "customernumber", "endcustomer", "endcustomerid",
        "enduser", "enduserid", "clientid", "client", "customername", "endcustomername",
    ),
    "customer_segment": (
        "customersegment", "segment", "marketsegment", "endcustomersegment", "customertype",
    ),
    "customer_size": (
        "customersize", "companysize", "employees", "employeecount", "numberofemployees",
        "endcustomersize", "customeremployees", "noofemployees", "employeesize",
    ),
    "product": (
        "product", "productname", "sku", "productsku", "item", "itemname", "productline",
        "productfamily", "productcode",
    ),
    "quantity": ("quantity", "qty", "units", "seats", "licenses", "licences", "unitcount"),
    "deal_type": ("dealtype", "ordertype", "transactiontype", "salestype", "type", "saletype"),
    "contact_email": (
        "contactemail", "email", "emailaddress", "partneremail", "partnercontactemail", "contactemailaddress",
        "partnercontact", "contactmail",
    ),
    "currency": (
        "currency", "curr", "currencycode", "ccy", "cur", "currencyiso", "isocurrency", "transactioncurrency",
        "documentcurrency", "localcurrency", "dealcurrency", "ordercurrency", "invoicecurrency", "salescurrency",
    ),
}


def _spelled_as(canonical: str, normalised: str) -> bool:
    """Tell whether a normalised header spells `canonical`: its name, a synonym, or for revenue a synonym with a
    currency code before or after it ("Amount (AUD)" -> "amountaud", "AUD Sales" -> "audsales")."""
    spellings = (normalise_header(canonical), *SYNONYMS[canonical])
    if normalised in spellings:
        return True
    if canonical != "revenue" or len(normalised) <= 3:
        return False
    head, tail = normalised[:3].upper(), normalised[-3:].upper()
    return ((tail in ISO_4217 and normalised[:-3] in spellings)
            or (head in ISO_4217 and normalised[3:] in spellings))


def ordered_tiers(tiers) -> list[str]:
    """Give the distinct tiers given, highest first; tiers outside the program after, alphabetically."""
    # A column holds a tier per partner (tens of thousands at a large vendor): let pandas find the
    # distinct values first when it is given a Series or an Index.
    present = list(dict.fromkeys(tiers.unique() if hasattr(tiers, "unique") else tiers))
    return [t for t in TIERS if t in present] + sorted(t for t in present if t not in TIERS)


def normalise_header(name: str) -> str:
    """Give a header reduced to lower-case letters and digits ("Amount (USD)" -> "amountusd")."""
    return re.sub(r"[^0-9a-z]", "", name.strip().lstrip("\ufeff").lower())


def match_columns(
    headers: list[str], overrides: dict[str, str] | None = None, quiet: Collection[str] = ()
) -> tuple[dict[str, int], list[str]]:
    """Give the canonical column -> header position mapping and notes about ambiguous headers.

    `overrides` maps canonical names to the file's own header text and wins over synonyms; a person
    uses it when a required column was not recognised or several could hold it. Columns in `quiet`
    get no note: the caller compares their candidates itself (see column_candidates).
    """
    mapping: dict[str, int] = {}
    notes: list[str] = []
    overrides = overrides or {}
    for canonical, header in overrides.items():
        if canonical not in CANONICAL_COLUMNS:
            raise ValueError(f"Unknown column {canonical!r}; expected one of {', '.join(CANONICAL_COLUMNS)}")
        if header not in headers:
            raise ValueError(f"Column mapping names {header!r}, which is not a header of this file")
        mapping[canonical] = headers.index(header)
    taken = set(mapping.values())
    normalised = [normalise_header(h) for h in headers]
    for canonical in CANONICAL_COLUMNS:
        if canonical in mapping:
            continue
        # Exact canonical spelling first, then synonyms in the order listed (most specific first), then (for
        # revenue) a synonym with a currency code ("Amount (AUD)").
        for synonym in (normalise_header(canonical), *SYNONYMS[canonical], None):
            if synonym is None:
                positions = [i for i, h in enumerate(normalised) if _spelled_as(canonical, h) and i not in taken]
            else:
                positions = [i for i, h in enumerate(normalised) if h == synonym and i not in taken]
            if positions:
                mapping[canonical] = positions[0]
                taken.add(positions[0])
                if len(positions) > 1 and canonical not in quiet:
                    others = ", ".join(repr(headers[i]) for i in positions[1:])
                    notes.append(
                        f"Several columns could be {canonical}: used {headers[positions[0]]!r}, ignored {others}"
                    )
                break
    return mapping, notes


def column_candidates(headers: list[str], mapping: dict[str, int]) -> dict[str, list[int]]:
    """Give, per matched canonical column, every header position that could hold it, the one used first.

    A candidate is a header spelled as the column or any of its synonyms and not used for another
    column: "Revenue" and "Amount (USD)" are both candidates for revenue.
    """
    normalised = [normalise_header(h) for h in headers]
    used = set(mapping.values())
    candidates = {}
    for canonical, chosen in mapping.items():
        others = [i for i, h in enumerate(normalised) if _spelled_as(canonical, h) and i != chosen and i not in used]
        candidates[canonical] = [chosen, *others]
    return candidates


# ---------------------------------------------------------------------------------------------
# Database schema. Each migration takes the database from the version before it to its own; a file
# written by an older version of the product is upgraded in place when it is opened.

_V1 = """
CREATE TABLE meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL);
CREATE TABLE loads (
    load_id INTEGER PRIMARY KEY,
    file_name VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    rows_in_file BIGINT NOT NULL,
    rows_added BIGINT NOT NULL,
    rows_skipped BIGINT NOT NULL,
    quarters VARCHAR[] NOT NULL,
    mode VARCHAR NOT NULL,
    loaded_at TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL,
    rolled_back_at TIMESTAMP
);
CREATE TABLE order_lines (
    load_id INTEGER NOT NULL,
    row_no BIGINT NOT NULL,
    transaction_id VARCHAR,
    partner_id VARCHAR NOT NULL,
    partner_name VARCHAR,
    tier VARCHAR,
    region VARCHAR,
    country VARCHAR,
    distributor VARCHAR,
    customer_id VARCHAR,
    customer_segment VARCHAR,
    product VARCHAR,
    quantity DOUBLE,
    deal_type VARCHAR,
    order_date DATE,
    quarter VARCHAR NOT NULL,
    revenue DECIMAL(18, 2) NOT NULL,
    replaced_by INTEGER
);
CREATE TABLE partner_quarter (
    partner_id VARCHAR NOT NULL,
    quarter VARCHAR NOT NULL,
    q_index INTEGER NOT NULL,
    revenue DOUBLE NOT NULL,
    order_lines BIGINT NOT NULL,
    customers BIGINT NOT NULL,
    products BIGINT NOT NULL,
    revenue_smb DOUBLE NOT NULL,
    revenue_mid_market DOUBLE NOT NULL,
    revenue_enterprise DOUBLE NOT NULL,
    partner_name VARCHAR,
    tier VARCHAR,
    region VARCHAR,
    PRIMARY KEY (partner_id, quarter)
);
"""

# Version 2: who did each load and rollback, how many stored rows a replace load set aside, deals
# (orders: one customer, one day) per partner and quarter, and the partner's country and distributor.
_V2 = """
ALTER TABLE loads ADD COLUMN loaded_by VARCHAR;
ALTER TABLE loads ADD COLUMN rolled_back_by VARCHAR;
ALTER TABLE loads ADD COLUMN rows_replaced BIGINT DEFAULT 0;
ALTER TABLE partner_quarter ADD COLUMN deals BIGINT DEFAULT 0;
ALTER TABLE partner_quarter ADD COLUMN country VARCHAR;
ALTER TABLE partner_quarter ADD COLUMN distributor VARCHAR;
"""

# Version 3: column mappings a person confirmed for a file layout, reused for the next file with the
# same headers.
_V3 = """
CREATE TABLE column_mappings (
    headers_key VARCHAR PRIMARY KEY,
    headers VARCHAR[] NOT NULL,
    mapping VARCHAR NOT NULL,
    confirmed_at TIMESTAMP NOT NULL,
    confirmed_by VARCHAR
);
"""

# Version 4: the annual review. A review is named ("FY2026") and holds one decision per partner with
# the recommendation it overrode, the note, revised goals for provisional continuation, who and when.
_V4 = """
CREATE TABLE reviews (
    review_id INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL UNIQUE,
    as_of VARCHAR NOT NULL,
    rules VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    created_by VARCHAR,
    saved_at TIMESTAMP NOT NULL,
    saved_by VARCHAR
);
CREATE TABLE review_decisions (
    review_id INTEGER NOT NULL,
    partner_id VARCHAR NOT NULL,
    partner_name VARCHAR,
    tier VARCHAR,
    region VARCHAR,
    revenue_trailing DOUBLE,
    churn_probability DOUBLE,
    turnaround_probability DOUBLE,
    recommendation VARCHAR NOT NULL,
    reasons VARCHAR,
    decision VARCHAR NOT NULL,
    note VARCHAR,
    revenue_goal DOUBLE,
    deals_goal INTEGER,
    goal_quarters VARCHAR,
    decided_by VARCHAR,
    decided_at TIMESTAMP NOT NULL,
    PRIMARY KEY (review_id, partner_id)
);
"""

# Version 5: distinct customers and products per partner over each trailing year (the YEAR quarters
# ending at q_index), derived from the lines at load time. No key: the rows of a window are deleted
# and rewritten together inside the load's transaction, and a key's index only slows that down.
_V5 = """
CREATE TABLE partner_year (
    partner_id VARCHAR NOT NULL,
    quarter VARCHAR NOT NULL,
    q_index INTEGER NOT NULL,
    customers BIGINT NOT NULL,
    products BIGINT NOT NULL
);
"""

# Version 6: the model's stored scores (analytics.model.scoring). A run is one as-of quarter and horizon
# scored from one data version by one model version, with the Model page's report as JSON; its
# partners' scores beside it. Pages read these; only a change of the data computes new ones.
_V6 = """
CREATE TABLE model_runs (
    run_id INTEGER PRIMARY KEY,
    as_of VARCHAR NOT NULL,
    horizon INTEGER NOT NULL,
    data_version BIGINT NOT NULL,
    model_version VARCHAR NOT NULL,
    rules_key VARCHAR NOT NULL,
    status VARCHAR NOT NULL,
    message VARCHAR,
    report VARCHAR,
    computed_at TIMESTAMP NOT NULL,
    seconds DOUBLE,
    partners BIGINT NOT NULL
);
CREATE TABLE model_scores (
    run_id INTEGER NOT NULL,
    partner_id VARCHAR NOT NULL,
    partner_name VARCHAR,
    tier VARCHAR,
    region VARCHAR,
    revenue_at_stake DOUBLE,
    revenue_trailing DOUBLE,
    churn_probability DOUBLE,
    churn_reasons VARCHAR,
    churn_reasons_against VARCHAR,
    underperforming BOOLEAN,
    turnaround_probability DOUBLE,
    turnaround_reasons VARCHAR,
    turnaround_reasons_against VARCHAR
);
"""

# Version 7: each review decision keeps the version of the model whose probabilities it was made on
# (churn_probability and turnaround_probability are kept already) and whether it was flagged at risk.
_V7 = """
ALTER TABLE review_decisions ADD COLUMN model_version VARCHAR;
ALTER TABLE review_decisions ADD COLUMN at_risk BOOLEAN;
"""

# Version 8: order days per partner and quarter (distinct days with a positive line; an undated quarterly
# row counts as one day in the quarter's middle month), and the first and last of them as days since
# 1970-01-01, derived at load time: the BG/NBD model's input, which the model's panel otherwise counted
# from every stored line on each read (a second at ten times the demo).
_V8 = """
ALTER TABLE partner_quarter ADD COLUMN order_days DOUBLE DEFAULT 0;
ALTER TABLE partner_quarter ADD COLUMN first_day DOUBLE;
ALTER TABLE partner_quarter ADD COLUMN last_day DOUBLE;
"""

# Version 9: review decisions in progress, one draft per person and review (analytics.review.drafts): the
# chief's overrides, notes and goals as JSON text, so that a reload or a lost session loses nothing.
_V9 = """
CREATE TABLE IF NOT EXISTS review_drafts (
    owner VARCHAR NOT NULL,
    review_key VARCHAR NOT NULL,
    payload VARCHAR NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (owner, review_key)
);
"""

# Version 10: views a person saved by name (analytics.saved_views): a page and its URL query string (quarter,
# filters, the page's own choices), one per owner and name. Not data: any role may keep its own.
_V10 = """
CREATE TABLE IF NOT EXISTS saved_views (
    owner VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    page VARCHAR NOT NULL,
    query VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL,
    saved_at TIMESTAMP NOT NULL,
    PRIMARY KEY (owner, name)
);
"""

# Version 11: every save of a review with the rules it was made under (reviews.rules holds only the last
# save's) and the rules file they came from (a file name, or "what-if on program.toml" for rules the chief
# applied from the what-if). Reviews saved before keep their one known save.
_V11 = """
CREATE TABLE IF NOT EXISTS review_saves (
    review_id INTEGER NOT NULL,
    saved_at TIMESTAMP NOT NULL,
    saved_by VARCHAR,
    rules VARCHAR NOT NULL,
    rules_file VARCHAR
);
INSERT INTO review_saves SELECT review_id, saved_at, saved_by, rules, NULL FROM reviews r
    WHERE NOT EXISTS (SELECT 1 FROM review_saves s WHERE s.review_id = r.review_id);
"""

# Version 12: what a partner's letter after the review says (analytics.review.letters): the review year's deals and
# customers the decision rests on, the tier the partner holds after it, and its incentive plan (the chief's or the
# program's for its segment focus).
_V12 = """
ALTER TABLE review_decisions ADD COLUMN IF NOT EXISTS deals_trailing DOUBLE;
ALTER TABLE review_decisions ADD COLUMN IF NOT EXISTS customers_trailing DOUBLE;
ALTER TABLE review_decisions ADD COLUMN IF NOT EXISTS tier_after VARCHAR;
ALTER TABLE review_decisions ADD COLUMN IF NOT EXISTS incentive_plan VARCHAR;
"""

# Version 13: rows of an extract set aside on purpose (analytics.ingest.rejects): how many per load, and the
# rejects file itself (each row as it was in the file, its row number and the reason), to download later.
_V13 = """
ALTER TABLE loads ADD COLUMN IF NOT EXISTS rows_set_aside BIGINT DEFAULT 0;
CREATE TABLE IF NOT EXISTS load_rejects (
    load_id INTEGER PRIMARY KEY,
    rows BIGINT NOT NULL,
    rejects_csv VARCHAR NOT NULL
);
"""

# Version 14: a partner's contact e-mail where the extract carries one (the letters' mail merge file).
_V14 = """
ALTER TABLE order_lines ADD COLUMN IF NOT EXISTS contact_email VARCHAR;
"""

# Version 15: currencies (issue 28). Each line keeps its amount and currency as in the file, and revenue becomes
# that amount in the reporting currency. Lines stored before were all read as US dollars (the product had no
# other currency, and USD is the default reporting currency), so they keep their revenue as amount, in USD.
# Exchange rates in force per quarter and currency (units of the reporting currency per unit), each rates file
# loaded (who, when) and every rate it set with the rate it replaced and what that moved (analytics.store.rates).
_V15 = """
ALTER TABLE order_lines ADD COLUMN IF NOT EXISTS amount DECIMAL(18, 2);
ALTER TABLE order_lines ADD COLUMN IF NOT EXISTS currency VARCHAR;
UPDATE order_lines SET amount = revenue, currency = 'USD' WHERE amount IS NULL;
CREATE TABLE IF NOT EXISTS exchange_rates (
    quarter VARCHAR NOT NULL,
    currency VARCHAR NOT NULL,
    rate DOUBLE NOT NULL,
    rate_load_id INTEGER,
    PRIMARY KEY (quarter, currency)
);
CREATE TABLE IF NOT EXISTS rate_loads (
    rate_load_id INTEGER PRIMARY KEY,
    file_name VARCHAR NOT NULL,
    content_hash VARCHAR NOT NULL,
    rows_in_file BIGINT NOT NULL,
    rates_changed BIGINT NOT NULL,
    loaded_at TIMESTAMP NOT NULL,
    loaded_by VARCHAR
);
CREATE TABLE IF NOT EXISTS rate_history (
    rate_load_id INTEGER NOT NULL,
    quarter VARCHAR NOT NULL,
    currency VARCHAR NOT NULL,
    rate DOUBLE NOT NULL,
    previous_rate DOUBLE,
    lines BIGINT NOT NULL,
    revenue_change DECIMAL(18, 2) NOT NULL
);
"""

MIGRATIONS: tuple[str, ...] = (_V1, _V2, _V3, _V4, _V5, _V6, _V7, _V8, _V9, _V10, _V11, _V12, _V13, _V14, _V15)
SCHEMA_VERSION = len(MIGRATIONS)
# Versions whose migration changes what the derived tables hold: upgrading past one re-derives them.
REDERIVE_AT = (2, 5, 8)

"""ISO 4217 currency codes, and the currency a header names ("Amount (AUD)" -> AUD)."""

from __future__ import annotations

import re

__all__ = ["ISO_4217", "is_currency_code", "header_currency", "DEFAULT_REPORTING_CURRENCY"]

DEFAULT_REPORTING_CURRENCY = "USD"

# The active ISO 4217 codes (a fixed list: codes change a few times a decade, and a dependency for them is
# not worth it). Funds and precious metals (XAU, XDR, ...) are left out: no extract sells in them.
ISO_4217: frozenset[str] = frozenset("""
AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN BZD CAD CDF
CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD
HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD
MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN
PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY
TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
""".split())

# A money header that names its currency: a money word, then the code, in brackets or not
# ("Amount (AUD)", "Revenue EUR", "Net sales in GBP", "AUD amount").
_HEADER_CODE = re.compile(r"(?:^|[^A-Za-z])([A-Za-z]{3})(?:$|[^A-Za-z])")


def is_currency_code(code: str) -> bool:
    """Tell whether `code` (upper case) is an ISO 4217 currency code."""
    return code in ISO_4217


def header_currency(header: str) -> str | None:
    """Give the currency a column header names as a separate word ("Amount (AUD)" -> "AUD"), else None.

    Only a three-letter word that is an ISO code counts, written in capitals or in brackets, so "Net amount"
    or "Sum" name none ("sum" is no code anyway, but "all" or "top" would be in lower case).
    """
    for match in _HEADER_CODE.finditer(header):
        word = match.group(1)
        start, end = match.span(1)
        bracketed = header[start - 1:start] in "([" and header[end:end + 1] in ")]" and start > 0
        if (word.isupper() or bracketed) and word.upper() in ISO_4217:
            return word.upper()
    return None

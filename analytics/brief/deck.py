"""The board pack as a whole: its slides in order for a quarter and selection, as a deck, as bytes, as a file."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

from pptx import Presentation

from analytics.analyses.messages import QuarterMessages, quarter_messages
from analytics.analyses.queries import filter_options, new_and_lapsed, revenue_by_tier
from analytics.brief.drawing import SLIDE_HIGH, SLIDE_WIDE
from analytics.brief.slides import (
    DeckInputs,
    dropoff_slides,
    headline_slide,
    messages_slide,
    recruits_slide,
    review_slide,
    risk_slide,
    tier_slides,
    title_slide,
)
from analytics.brief.template import open_template
from analytics.filters import ChannelFilter
from analytics.program.regional_programs import load_programs
from analytics.store.store import Store

__all__ = ["board_pack", "board_pack_bytes", "write_board_pack"]


# -- the deck -------------------------------------------------------------------------------------
def board_pack(store: Store, flt: ChannelFilter = ChannelFilter(), template: str | Path | bytes | None = None,
               messages: QuarterMessages | None = None) -> Presentation:
    """Give the board pack of the filter's quarter (default: the latest) for its selection.

    `template`: a company's .pptx to build on (open_template); None: the default Office template.
    `messages`: the quarter's messages when the caller has them (quarter_messages under the program
    rules), else they are made here. Raises ValueError when the store holds no data or the quarter
    holds none, or the template cannot be used.
    """
    quarters = filter_options(store).quarters
    if not quarters:
        raise ValueError("No data loaded yet: load an extract (or build the demo) before making a board pack")
    quarter = flt.quarter or quarters[-1]
    if quarter not in quarters:
        raise ValueError(f"No data for {quarter}: the data run from {quarters[0]} to {quarters[-1]}")
    flt = replace(flt, quarter=quarter)  # the scope and countries come along
    if template is None:
        deck = Presentation()
        deck.slide_width, deck.slide_height = SLIDE_WIDE, SLIDE_HIGH
        deck._default_template = True
    else:
        deck = open_template(template)
    programs = load_programs()
    found = messages if messages is not None and messages.quarter == quarter else quarter_messages(
        store, flt, programs.global_rules, programs)
    said = {}
    for message in found.messages:  # the largest of each kind titles its slide
        said.setdefault(message.kind, message)
    proof = {}
    inputs = DeckInputs(quarters, new_and_lapsed(store, flt), revenue_by_tier(store, flt), found)
    title_slide(deck, flt, quarter, inputs)
    headline_slide(deck, store, flt, quarter, said, inputs)
    proof["tier"] = tier_slides(deck, store, flt, quarter, said, inputs)
    proof["revenue"], proof["dropoffs"] = dropoff_slides(deck, store, flt, quarter, said, inputs)
    risk_slide(deck, store, flt, quarter)
    proof["recruits"] = recruits_slide(deck, store, flt, quarter, said, inputs)
    proof["review"] = review_slide(deck, store, quarter, flt.scope)
    messages_slide(deck, found, proof)
    return deck


def board_pack_bytes(store: Store, flt: ChannelFilter = ChannelFilter(),
                     template: str | Path | bytes | None = None) -> bytes:
    """Give the board pack (see board_pack) as the bytes of a .pptx file."""
    buffer = io.BytesIO()
    board_pack(store, flt, template).save(buffer)
    return buffer.getvalue()


def write_board_pack(store: Store, path: str | Path, flt: ChannelFilter = ChannelFilter(),
                     template: str | Path | bytes | None = None) -> Path:
    """Write the board pack (see board_pack) to `path` and give the path."""
    path = Path(path)
    path.write_bytes(board_pack_bytes(store, flt, template))
    return path

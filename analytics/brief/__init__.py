"""The board pack: the quarter as a PowerPoint deck for the executive team, with native (editable) charts.

Every figure comes from the engine functions the pages call, with the same selection, so the deck
says what the Overview, Tiers, Revenue drop-offs and Partners at risk pages say for that quarter.
Text from the data (partner names, file names) goes in as plain text: PowerPoint does not interpret it.

The second slide is the quarter in messages (analytics.analyses.messages), each with the slide that
proves it, and every slide is titled with what it shows, not with its chart type. The deck is built
on the default Office template, or on a company's own (a .pptx whose slide master and layouts it
uses: `template`, or the one an admin uploaded, kept as data/brief_template.pptx); a template needs
the layouts named in LAYOUTS_NEEDED.

The package's modules: deck (the pack as a whole), slides (one function per slide), drawing (text, tables
and charts on a slide), template (the layouts, a company's own .pptx). This module is its public face: the
board pack itself; the template's functions and the drawing limits are named from their modules.
"""

from analytics.brief.deck import board_pack, board_pack_bytes, write_board_pack

__all__ = ["board_pack", "board_pack_bytes", "write_board_pack"]

"""Readers of a PowerPoint deck's slides for the board pack's tests (python-pptx objects in, plain text out)."""

from __future__ import annotations

__all__ = ["BRIEF_HEADER", "texts", "table"]

# The header of the board pack tests' hand-made extracts.
BRIEF_HEADER = "transaction_id,partner_id,partner_name,tier,order_date,revenue,customer_id\n"


def texts(slide) -> list[str]:
    """Give the paragraphs of a slide's text boxes, its title left out."""
    return [p.text for shape in slide.shapes if shape.has_text_frame and shape != slide.shapes.title
            for p in shape.text_frame.paragraphs]


def table(slide, n: int = 0) -> list[list[str]]:
    """Give the cells' text of the slide's n-th table, row by row."""
    tables = [shape.table for shape in slide.shapes if shape.has_table]
    return [[cell.text for cell in row.cells] for row in tables[n].rows]

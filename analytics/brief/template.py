"""The board pack's template: the layouts it is built on, and a company's own .pptx checked, kept and removed
(admins only)."""

from __future__ import annotations

import io
import os
from pathlib import Path
from zipfile import BadZipFile

from pptx import Presentation
from pptx.exc import PackageNotFoundError

from analytics.access import Actor, check
from analytics.program.rules import rules_folder

__all__ = [
    "LAYOUTS_NEEDED",
    "TEMPLATE_NAME",
    "open_template",
    "template_path",
    "stored_template",
    "save_template",
    "remove_template",
    "TITLE_LAYOUT",
    "CONTENT_LAYOUT",
    "TEMPLATE_BYTES",
    "slide_layout",
]


# The slide layouts the pack is built on, by the names PowerPoint gives them: a company's template must
# have both (its own look: master, fonts, colours, logo); the default template has them.
TITLE_LAYOUT, CONTENT_LAYOUT = "Title Slide", "Title Only"
LAYOUTS_NEEDED = (TITLE_LAYOUT, CONTENT_LAYOUT)
TEMPLATE_NAME = "brief_template.pptx"  # the admin's upload, in data/ beside the program rules (not in git)
TEMPLATE_BYTES = 20_000_000  # a template is a master, layouts and a logo: anything larger is not one


def slide_layout(deck: Presentation, name: str):
    return next(layout for layout in deck.slide_layouts if layout.name == name)


# -- templates ------------------------------------------------------------------------------------
def template_path() -> Path:
    """Give where an admin's template is kept: brief_template.pptx in the program rules' folder (data/)."""
    return rules_folder() / TEMPLATE_NAME


def stored_template() -> Path | None:
    """Give the admin's template when one is kept, else None (the default template is used)."""
    path = template_path()
    return path if path.is_file() else None


def open_template(source: str | Path | bytes, name: str | None = None) -> Presentation:
    """Give a company's deck opened as the pack's template, its own slides left out, or a ValueError saying why not.

    Refused: a file that is no PowerPoint .pptx, and one without the layouts the pack needs
    (LAYOUTS_NEEDED, by name), naming those missing and those it has.
    """
    name = name or (Path(source).name if not isinstance(source, bytes) else "the template")
    try:
        deck = Presentation(io.BytesIO(source) if isinstance(source, bytes) else str(source))
    except (PackageNotFoundError, BadZipFile, KeyError, ValueError, OSError) as exc:
        raise ValueError(f"{name} cannot be used as the board pack's template: it is not a PowerPoint .pptx file "
                         f"({exc}). Save it from PowerPoint as a .pptx (not .potx or .ppt) and try again.") from exc
    have = [layout.name for layout in deck.slide_layouts]
    missing = [layout for layout in LAYOUTS_NEEDED if layout not in have]
    if missing:
        raise ValueError(
            f"{name} cannot be used as the board pack's template: it has no slide layout named "
            f"{' or '.join(repr(m) for m in missing)}. The pack needs layouts named {' and '.join(LAYOUTS_NEEDED)}; "
            f"its layouts are: {', '.join(repr(h) for h in have) or 'none'}. Rename the layouts in PowerPoint's "
            "slide master view and try again.")
    if slide_layout(deck, CONTENT_LAYOUT).placeholders and not any(
            p.placeholder_format.idx == 0 for p in slide_layout(deck, CONTENT_LAYOUT).placeholders):
        raise ValueError(f"{name} cannot be used as the board pack's template: its {CONTENT_LAYOUT!r} layout has no "
                         "title placeholder, where each slide's message goes.")
    # The template's own example slides are not part of the pack.
    for entry in list(deck.slides._sldIdLst):
        deck.part.drop_rel(entry.rId)
        deck.slides._sldIdLst.remove(entry)
    return deck


def save_template(data: bytes, file_name: str, actor: Actor | None = None) -> Path:
    """Keep a company's template for every board pack (template_path) and give its path; admins only.

    Raises AccessDenied when `actor` may not change the program rules (the setting it belongs with),
    ValueError when the file is too large or not a template the pack can use (see open_template).
    """
    check(actor, "change program rules")
    if len(data) > TEMPLATE_BYTES:
        raise ValueError(f"{file_name} is {len(data) / 1e6:.0f} MB: a template (master, layouts, logo) is under "
                         f"{TEMPLATE_BYTES / 1e6:.0f} MB. Remove the pictures of its example slides and try again.")
    open_template(data, file_name)
    path = template_path()
    new = path.with_name(path.name + ".new")
    new.write_bytes(data)
    os.replace(new, path)  # one step: a pack being built reads the old file or the new one, never half of one
    return path


def remove_template(actor: Actor | None = None) -> bool:
    """Go back to the default template (delete the kept one); tell whether there was one. Admins only."""
    check(actor, "change program rules")
    path = template_path()
    if not path.is_file():
        return False
    path.unlink()
    return True

"""The demo channel in a store: its rates and extracts written, loaded through the importer, then scored."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from analytics.demo.files import write_demo_extracts
from analytics.demo.parameters import DemoSpec
from analytics.demo.rates import write_demo_rates

__all__ = ["build_demo_channel"]


def build_demo_channel(
    store,
    spec: DemoSpec = DemoSpec(),
    progress: Callable[[float, str], None] | None = None,
    extracts_dir: Path | None = None,
    hold_back: tuple[str, ...] = (),
    actor=None,
    score: bool = True,
    by: str | None = None,
) -> list:
    """Give the load results of writing the demo's quarterly extracts and loading each through the importer.

    With `score`, the model's scores are then brought up to date (analytics.model.scoring), as after any load.

    `actor` (analytics.access.Actor) is who loads them: refused before anything is written unless
    their role may load; None is the machine's operator.

    The extracts go to a temporary folder unless `extracts_dir` is given (then they are kept there).
    Quarters in `hold_back` are written but not loaded, to be uploaded later as a real extract would be.
    Each load is recorded as loaded by "demo, by " and `by` (the command line says "command line (<login>)"),
    else the actor's name, else the local user's login.
    """
    # Imported here: the generator itself needs no database, and ingest must not import the demo.
    from analytics.access import check, local_actor
    from analytics.ingest.limits import COMMAND_LINE_LIMITS
    from analytics.ingest.load import load_extract
    from analytics.model.features import DEFAULT_HORIZON
    from analytics.model.scoring import refresh_scores
    from analytics.store.rates import load_rates

    check(actor, "load")
    # The loads table says these rows are generated, and who had them generated.
    loaded_by = f"demo, by {by or (actor or local_actor()).who}"
    notify = progress or (lambda fraction, message: None)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(extracts_dir) if extracts_dir is not None else Path(tmp)
        # Writing is the quicker part; loading (validation, insert, derived table) and scoring take the time.
        loading = 0.5 if score else 0.7
        # The rates first: the EMEA and ANZ extracts are in euros and Australian dollars.
        rates = write_demo_rates(folder, spec)
        notify(0.0, f"Loading exchange rates ({rates.name}) for {spec.quarters} quarters")
        load_rates(store, rates, actor=actor, loaded_by=loaded_by)
        paths = write_demo_extracts(folder, spec, progress=lambda f, m: notify(0.3 * f, m))
        to_load = [p for p in paths if p.stem.removeprefix("sales_") not in hold_back]
        results = []
        for i, path in enumerate(to_load):
            def step(fraction: float, message: str, i: int = i) -> None:
                notify(0.3 + loading * (i + fraction) / len(to_load), message)

            # The demo's own files (12 of 1.2 GB at --partners 600000) are streamed, as the command line's are.
            results.append(load_extract(store, path, progress=step, actor=actor, loaded_by=loaded_by,
                                        limits=COMMAND_LINE_LIMITS))
    if score:
        refresh_scores(store, progress=lambda f, m: notify(0.8 + 0.15 * f, m))
        # The quarter before too, at the default horizon: the Overview's "what changed with the last load"
        # compares each partner's risk with the one stored for it then (a real channel has it from its
        # previous load).
        quarters = sorted({q for r in results for q in r.quarters})
        if len(quarters) > 1:
            refresh_scores(store, progress=lambda f, m: notify(0.95 + 0.05 * f, m), as_of=quarters[-2],
                           horizons=(DEFAULT_HORIZON,))
    notify(1.0, f"Demo channel ready: {sum(r.rows_added for r in results):,} order lines")
    return results

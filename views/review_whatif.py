"""The Annual review's What if tab: other minimums or another threshold, who would move, and what to do with them.

The person picks the program the what-if changes (the global one or a regional one; a regional reviewer
only the programs of their regions); its minimums are shown and typed in that program's currency, and
only that program's partners can move. The chief can use the what-if's rules for the review in progress
(until going back to the file's rules: `applied_programs`, called by views/pages/review.py right after it reads
the rules file) and an admin can keep them as a new rules file beside program.toml.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from analytics import charts
from analytics.access import AccessDenied, Actor
from analytics.filters import ChannelFilter
from analytics.formatting import markdown_literal
from analytics.periods import trailing_span
from analytics.program.regional_programs import GLOBAL, Programs, RegionalProgram, load_programs, regional_toml
from analytics.program.rules import ProgramRules, rules_folder, save_program_as
from analytics.review.decisions import action_counts, compare_action_counts, select_partners
from analytics.review.regional import regional_recommendations
from analytics.review.whatif import partners_who_move, rule_changes
from views.cache import cached, cached_figure, derived
from views.review_whatif_inputs import whatif_rules
from views.style import show_chart
from views.widgets import partner_table, show_table

__all__ = ["applied_programs", "whatif_tab"]

# While the chief uses the what-if's rules for the review: (the program's name, its file rules, the what-if's rules).
APPLIED = "whatif_applied"
_SAVED_NOTE = "whatif_saved_note"  # what the last save of a rules file said, shown once after the rerun


def applied_programs(programs: Programs) -> Programs:
    """Give the programs with the what-if's rules in place while the chief uses them for this review, else as they are.

    While they apply, a note above the counts says so, names the program and what differs from the
    file's rules, and offers the way back. Picking another rules file ends them: they were tried on the
    file before.
    """
    applied = st.session_state.get(APPLIED)
    if applied is None:
        return programs
    name, base, what_if = applied
    current = next((p.rules for p in programs.all if p.name == name), None)
    if current is None or base != current or base.source != current.source:
        del st.session_state[APPLIED]
        return programs
    program = programs.named(name)
    file_name = markdown_literal(Path(base.source).name)
    changes = "; ".join(rule_changes(base, what_if, program.currency)) or "the same terms"
    which = "" if name == GLOBAL else f"the {markdown_literal(name)} program's "
    with st.container(border=True):
        st.warning(f"**This review uses the what-if's rules, not {file_name}'s** (chosen on the What if tab): "
                   f"{which}{markdown_literal(changes)}. The counts, the tables, the downloads and a save use them.",
                   icon=":material/science:")
        st.button(f"Back to the rules of {file_name}", key="whatif_unapply", on_click=_back_to_file,
                  icon=":material/undo:")
    return programs.with_program_rules(name, what_if)


def _back_to_file() -> None:
    st.session_state.pop(APPLIED, None)


def _program_label(program: RegionalProgram) -> str:
    where = ", ".join((*program.regions, *program.countries))
    return (f"{program.name} (in {program.currency})" if program.name == GLOBAL
            else f"{program.name}: {where} (in {program.currency})")


def whatif_tab(programs: Programs, rules_file: Path, counts: pd.DataFrame, flt: ChannelFilter,
               actor: Actor | None) -> None:
    """Show the what-if: a program's terms to change, the counts beside the program's, who would move, the actions.

    `programs` and `counts` are the review's (the what-if's own rules while they apply); the what-if
    always starts from the file's rules of the program picked, and changes that program only.
    """
    q = flt.quarter
    year = trailing_span(q)
    applied = st.session_state.get(APPLIED)
    file_name = markdown_literal(rules_file.name)
    file_programs = load_programs(rules_file)
    # A regional reviewer tries only the programs their partners are reviewed under.
    choices = file_programs.programs_of(flt.scope)
    chosen = st.selectbox("Program the what-if changes", [p.name for p in choices], key="whatif_program",
                          format_func=lambda n: _program_label(file_programs.named(n)),
                          help="Its minimums are in its own currency; partners under other programs keep theirs.")
    program = file_programs.named(chosen)
    base = program.rules
    # The other programs as the review has them (a what-if in use on another program stays in use).
    others = programs if applied is None or applied[0] != chosen else programs.with_program_rules(chosen, base)

    def judged(terms: ProgramRules) -> pd.DataFrame:
        # Every partner under its own program, with `terms` as the chosen one's; a person's scope comes first.
        return cached(regional_recommendations, q, others.with_program_rules(chosen, terms), None, flt.scope)

    if applied is not None and applied[0] == chosen:  # the review's counts are the what-if's; the program's: the file's
        counts = derived(action_counts, derived(select_partners, judged(base), flt))
    kept = [markdown_literal(p.name) for p in choices if p.name != chosen]  # of the person's programs only
    st.caption(f"Try other minimums or another threshold of the {markdown_literal(chosen)} program against "
               f"{file_name}, amounts in {program.currency}: the counts and the partners who would move change at "
               "once. Nothing is saved unless you choose below."
               + (f" Partners under the {', '.join(kept)} program{'s' if len(kept) > 1 else ''} keep their own "
                  "terms." if kept else ""))
    what_if = whatif_rules(program, rules_file)
    if what_if is None:
        return
    # Until someone changes a figure the what-if is the program itself: no second review of every partner.
    unchanged = what_if == base
    program_recs = derived(select_partners, judged(base), flt)
    whatif_recs = program_recs if unchanged else derived(select_partners, judged(what_if), flt)
    scenario = counts if unchanged else derived(action_counts, whatif_recs)
    both = pd.concat([counts.assign(scenario=f"program ({rules_file.name})"), scenario.assign(scenario="what if")])
    show_chart(cached_figure(charts.review_actions_bar, both, q))
    compare = derived(compare_action_counts, counts, scenario)
    show_table(compare, {"revenue_trailing": f"Revenue {year}",
                         "revenue_trailing_what_if": f"Revenue {year}, what if"})

    moved = derived(partners_who_move, program_recs, whatif_recs)
    st.subheader(f"{len(moved):,} partner{'' if len(moved) == 1 else 's'} would move")
    if moved.empty:
        st.caption("Under these rules every partner gets what the program's rules give it.")
    else:
        st.caption(f"What the program's rules ({file_name}) say and what the what-if says, with the what-if's "
                   "reasons; by the program's action, largest revenue first. Revenue in the reporting currency ("
                   f"{file_programs.reporting_currency}).")
        partner_table(moved, "partners who would move", "whatif_moves", "by the program's action, largest revenue "
                      "first", first=["program_says", "what_if_says", "reasons"],
                      labels={"tier": "Recorded tier", "recommendation": None, "recommendation_what_if": None,
                              "program_reasons": None, "revenue_trailing": f"Revenue {year}",
                              "deals_trailing": f"Deals {year}", "customers_trailing": f"Customers {year}",
                              "reasons": "Why, under the what-if"})
    _actions(chosen, base, what_if, unchanged, rules_file, file_programs, actor)


def _actions(chosen: str, base: ProgramRules, what_if: ProgramRules, unchanged: bool, rules_file: Path,
             file_programs: Programs, actor: Actor | None) -> None:
    """Offer to use the what-if's rules for this review and, to an admin, to keep them as a new rules file."""
    file_name = markdown_literal(rules_file.name)
    if note := st.session_state.pop(_SAVED_NOTE, None):
        st.success(note)
    may_decide = actor is not None and actor.may("save review")
    may_change_rules = actor is not None and actor.may("change program rules")
    if not may_decide:
        st.caption("Using these rules for the review takes the reviewer or admin role; keeping them as a rules file "
                   "takes the admin role.")
        return
    st.divider()
    applied = st.session_state.get(APPLIED)
    in_use = applied is not None and applied[0] == chosen and applied[2] == what_if
    left, right = st.columns(2)
    with left:
        st.markdown("**Use these rules for this review**")
        st.caption(f"The review in progress then recommends by these rules instead of {file_name}'s until you go "
                   "back; the page says so above the counts. Your decisions and notes stay as they are.")
        if st.button("Use these rules for this review", key="whatif_apply", icon=":material/science:",
                     disabled=unchanged or in_use,
                     help="In use already" if in_use else "Change a figure first" if unchanged else None):
            st.session_state[APPLIED] = (chosen, base, what_if)
            st.rerun()
    if not may_change_rules:
        right.caption("Keeping these rules as a new rules file takes the admin role.")
        return
    with right:
        st.markdown("**Save as a new rules file**")
        name = st.text_input("Name of the new rules file", key="whatif_rules_name", placeholder="strict-2027",
                             help=f"Saved as NAME.toml in {rules_folder()}, beside {rules_file.name}, which is not "
                                  "changed. Saving a name saved before from here makes its next version; every "
                                  "version is kept.")
        if st.button("Save as a new rules file", key="whatif_save_rules", icon=":material/save:", disabled=unchanged,
                     help="Change a figure first" if unchanged else None):
            try:
                # The what-if's program changed, every other program kept as the file has it.
                changed = file_programs.with_program_rules(chosen, what_if)
                path, version = save_program_as(changed.global_rules, name, rules_folder(), actor=actor,
                                                based_on=f"the what-if on {rules_file.name}"
                                                + ("" if chosen == GLOBAL else f", program {chosen}"),
                                                regional=regional_toml(changed))
            except (AccessDenied, ValueError, OSError) as exc:
                st.error(markdown_literal(str(exc)))
            else:
                st.session_state[_SAVED_NOTE] = (
                    f"Saved {markdown_literal(path.name)} (version {version}) by {markdown_literal(actor.who)}; "
                    "pick it under Program rules above.")
                st.rerun()  # the picker above lists the new file

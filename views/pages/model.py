"""Model: what the churn and turnaround model predicts, how well it did in the backtest, and what drives it."""

import streamlit as st

from analytics import charts
from analytics.formatting import markdown_literal, probability_text
from analytics.model.fit import backtest_table, calibration_text
from analytics.model.scoring import score_status, stored_report
from analytics.model.summary import plain_summary
from analytics.periods import quarter_span, span_after
from views.cache import cached, cached_figure
from views.scores import scored_horizon
from views.sidebar import filter_with_data
from views.style import show_chart
from views.widgets import download_table, show_table

st.title("Model")
flt = filter_with_data()
q = flt.quarter
horizon = scored_horizon(q, "model_horizon", notes=False)  # the notes show in full below
report = cached(stored_report, q, horizon)
status = cached(score_status, q, horizon)
if not flt.is_everything:
    st.caption("The model, its backtest and its drivers cover the whole channel: the sidebar's tier, region, "
               "distributor and segment filters narrow the Partners at risk list, not this page.")

st.subheader("In short")
for point in plain_summary(report):
    st.markdown(f"**{point.topic}.** {markdown_literal(point.text)}")

st.header("For analysts")
st.markdown(
    f"""
**What it predicts.** For every partner with orders in the {horizon} quarters to **{q}**:
- **churn**: the probability that its revenue over the next {horizon} quarters
  ({span_after(q, horizon)}) falls below {report.churn_share:.0%} of the {horizon} quarters
  before, or stops;
- **turnaround**, for partners underperforming at {q} (revenue down by half or more year over year, or below
  their tier's minimum): the probability that revenue over the next {horizon} quarters gets back to the level
  before the fall (or to the tier's minimum).

**How it was trained.** On the data {quarter_span(*report.data_quarters)} only (data version
{report.data_version}), with examples at cutoffs {", ".join(report.train_quarters)}: each partner's history up to
a cutoff, labelled by the {horizon} quarters after it ({report.train_examples.get("churn", 0):,} churn and
{report.train_examples.get("turnaround", 0):,} turnaround examples). Trained {report.trained_at:%Y-%m-%d %H:%M}
in {report.fit_seconds:.1f} s (model version {status.run.model_version}); {report.partners_scored:,} partners
scored. Scores are computed again after every load or rollback and stored; pages read them.

**How it was tested.** Tested on the latest cutoff whose {horizon} quarters ahead are observed, L. Every candidate
is fitted only on cutoffs whose own {horizon} quarters ahead ended by L, so no label peeks into the test period: the
learned model is trained on the earlier ones and its probabilities are calibrated on the latest of them, a later
quarter than it learned from. Beside it compete the BG/NBD "buy till you die" model (partners ranked by the orders
it expects from them over the horizon) and rules that rank by one raw figure: quarters since the last deal, days
since the last order, the year-over-year fall. Each ROC AUC comes with its 95 % interval over the test partners
resampled; the learned model is served only where it ranks above the BG/NBD model by more than that noise. A
candidate that could not be scored is listed as unavailable, with why, and never ranked.
"""
)
for note in report.notes:
    st.warning(markdown_literal(note))

for target in ("churn", "turnaround"):
    evaluation = report.evaluations.get(target)
    st.subheader(f"Backtest: {target}")
    if evaluation is None:
        st.info(f"No backtest of {target} on this data (see the note above).")
        continue
    st.caption(
        f"Trained on cutoffs {', '.join(evaluation.train_quarters) or 'none'} ({evaluation.train_examples:,} "
        f"examples), calibrated on {evaluation.calibration_quarter}, tested on {', '.join(evaluation.test_quarters)} "
        f"({evaluation.test_examples:,} partners, {evaluation.test_positive_rate:.1%} of them {target}): fitted "
        f"only on cutoffs whose {horizon} quarters ahead were observed by the test cutoff. "
        "ROC AUC: how well it ranks (0.5 is chance), with its 95 % interval; PR AUC: precision over recall; Brier: "
        "mean squared error of the probabilities (lower is better); mean predicted: to compare with the "
        f"{evaluation.test_positive_rate:.1%} that happened; top-10 %: share of actual {target} among the 10 % "
        "ranked highest, and that share over the base rate (lift)."
    )
    if evaluation.selection:
        st.info(markdown_literal(evaluation.selection))
    table = backtest_table(evaluation)
    show_table(table)
    download_table(table, f"backtest_{target}_{q}_{horizon}q", key=f"dl_backtest_{target}")
    if evaluation.chosen:
        st.caption(markdown_literal(calibration_text(evaluation, evaluation.chosen)))
    show_chart(cached_figure(charts.reliability_chart, evaluation.reliability, target,
                             ", ".join(evaluation.test_quarters)))
    st.caption(
        f"Calibration (reliability curve): the test partners in ten equal groups by predicted {target} probability; "
        f"each point is a group's average predicted probability against the share that actually saw {target}. "
        "On the diagonal a probability means what it says. Probabilities are calibrated with a sigmoid (Platt) on a "
        "later quarter than the model learned from, so they vary smoothly and are never exactly 0 or 1; the other "
        "pages write them as "
        f"\"{probability_text(0.0)}\", whole percentages, or \"{probability_text(1.0)}\", since a test on tenths "
        "of the partners cannot tell finer odds apart at the ends."
    )

st.subheader("What drives churn risk overall")
st.caption(
    f"For each reason, how far the partners' own values move their churn probability from a typical partner's "
    f"value, averaged over the {report.partners_scored:,} partners scored as of {q}."
)
show_chart(cached_figure(charts.drivers_bar, report.drivers, q))

"""Reports: RunRecords -> ``report.md`` and a self-contained ``report.html`` (plots inlined).

Every table puts each model beside the task's trivial baseline, as mean ± std over seeds
and as a ratio to the baseline, so no number stands alone. The toolkit every domain draws
from: :func:`summary_table`, :func:`horizon_table` (one column per horizon of a metric family
such as ``mse_h{h}``), :func:`metric_bar_plot`, :func:`horizon_plot` (error against horizon)
and :func:`training_curves_plot`. This module is the one place that sets matplotlib's
backend (``Agg``: files, no display); domain figures live in each domain's ``plots.py``.
"""

from __future__ import annotations

import base64
import html
import io
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from sciformers.evaluation.records import RunRecord  # noqa: E402


@dataclass
class Table:
    """A report table: a title, column headers, rows of cells, and notes under it."""

    title: str
    columns: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


def mean_std(values: list[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (0 for a single value)."""
    return statistics.fmean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def fmt(value: float) -> str:
    """A number with 4 significant digits, scientific only where needed."""
    if value == 0 or 1e-3 <= abs(value) < 1e5:
        return f"{value:.4g}"
    return f"{value:.3e}"


def fmt_mean_std(values: list[float]) -> str:
    m, s = mean_std(values)
    return fmt(m) if len(values) == 1 else f"{fmt(m)} ± {fmt(s)}"


def summary_table(records: list[RunRecord], baseline: str | None) -> Table:
    """Models x metrics (mean ± std over seeds), each with its ratio to ``baseline``."""
    by_model: dict[str, list[RunRecord]] = defaultdict(list)
    for r in records:
        by_model[r.model].append(r)
    metrics = list(dict.fromkeys(k for r in records for k in r.metrics))
    directions = {k: v for r in records for k, v in r.higher_is_better.items()}
    base = {m: mean_std([r.metrics[m] for r in by_model[baseline] if m in r.metrics])[0]
            for m in metrics if baseline in by_model and any(m in r.metrics for r in by_model[baseline])}
    columns = ["model", "seeds", "params"]
    for m in metrics:
        arrow = "↑" if directions.get(m, True) else "↓"
        columns.append(f"{m} {arrow}")
        if m in base:
            columns.append(f"{m} / {baseline}")
    columns += ["fit s", "infer ms/sample"]
    order = sorted(by_model, key=lambda name: (name != baseline, name))
    rows = []
    for name in order:
        rs = by_model[name]
        row = [f"{name} (baseline)" if name == baseline else name, str(len(rs)), f"{rs[0].n_params:,}"]
        for m in metrics:
            vals = [r.metrics[m] for r in rs if m in r.metrics]
            row.append(fmt_mean_std(vals) if vals else "–")
            if m in base:
                row.append(f"{statistics.fmean(vals) / base[m]:.2f}×" if vals and base[m] else "–")
        row.append(fmt(statistics.fmean(r.timings.fit_s for r in rs)))
        infer = [r.timings.infer_ms_per_sample for r in rs if r.timings.infer_ms_per_sample is not None]
        row.append(fmt(statistics.fmean(infer)) if infer else "–")
        rows.append(row)
    notes = [f"mean ± std over seeds; ↑ higher is better, ↓ lower is better; ratios are model mean / {baseline} mean."] if baseline else []
    return Table(title="Results", columns=columns, rows=rows, notes=notes)


def metric_bar_plot(records: list[RunRecord], metric: str, baseline: str | None) -> plt.Figure:
    """Bar chart of one metric per model (mean, std error bars), baseline in grey."""
    by_model: dict[str, list[float]] = defaultdict(list)
    for r in records:
        if metric in r.metrics:
            by_model[r.model].append(r.metrics[metric])
    names = sorted(by_model, key=lambda n: (n != baseline, n))
    means = [mean_std(by_model[n])[0] for n in names]
    stds = [mean_std(by_model[n])[1] for n in names]
    fig, ax = plt.subplots(figsize=(1.2 + 1.1 * len(names), 3.2))
    colors = ["0.6" if n == baseline else f"C{i}" for i, n in enumerate(names)]
    ax.bar(names, means, yerr=stds, color=colors, capsize=4)
    ax.set_ylabel(metric)
    ax.set_title(f"{records[0].task}: {metric}")
    fig.tight_layout()
    return fig


def family_keys(records: list[RunRecord], family: str) -> dict[int, str]:
    """``{h: key}`` of every metric key of ``family`` (one ``{h}`` field, an integer) in ``records``."""
    prefix, _, suffix = family.partition("{h}")
    pattern = re.compile(re.escape(prefix) + r"(\d+)" + re.escape(suffix) + "$")
    found = {int(m.group(1)): k for r in records for k in r.metrics if (m := pattern.match(k))}
    return dict(sorted(found.items()))


def _by_model(records: list[RunRecord], baseline: str | None) -> dict[str, list[RunRecord]]:
    """Records by model, the baseline first, then by name."""
    groups: dict[str, list[RunRecord]] = defaultdict(list)
    for r in records:
        groups[r.model].append(r)
    return {m: groups[m] for m in sorted(groups, key=lambda n: (n != baseline, n))}


def horizon_table(records: list[RunRecord], baseline: str | None, family: str, title: str,
                  horizons: Sequence[int] | None = None, notes: Sequence[str] = (),
                  extra: dict[str, Callable[[list[RunRecord]], str]] | None = None) -> Table:
    """Models x horizons of one metric family (``rel_l2_h{h}``): mean ± std over seeds, and the
    ratio to the baseline's mean at the same horizon.

    Args:
        records: the task's records.
        baseline: the trivial baseline's model name (first row, the ratios' denominator).
        family: a pattern with one ``{h}`` field.
        title: the table's title.
        horizons: the columns (default: every horizon found in ``records``).
        notes: lines under the table.
        extra: more columns after the horizons, header -> cell of one model's records.
    """
    keys = family_keys(records, family)
    hs = list(horizons) if horizons is not None else list(keys)
    groups = _by_model(records, baseline)
    direction = next((r.higher_is_better.get(keys[h]) for r in records for h in hs if h in keys), None)
    arrow = {True: " ↑", False: " ↓"}.get(direction, "")  # type: ignore[arg-type]
    base = {h: [r.metrics[keys[h]] for r in groups.get(baseline or "", []) if h in keys and keys[h] in r.metrics]
            for h in hs}
    rows = []
    for name, rs in groups.items():
        row = [f"{name} (baseline)" if name == baseline else name, str(len(rs)), f"{rs[0].n_params:,}"]
        for h in hs:
            vals = [r.metrics[keys[h]] for r in rs if h in keys and keys[h] in r.metrics]
            ratio = (f" ({statistics.fmean(vals) / statistics.fmean(base[h]):.2f}×)"
                     if vals and base[h] and statistics.fmean(base[h]) else "")
            row.append(fmt_mean_std(vals) + ratio if vals else "–")
        rows.append(row + [cell(rs) for cell in (extra or {}).values()])
    columns = ["model", "seeds", "params"] + [family.replace("{h}", str(h)) + arrow for h in hs] + list(extra or {})
    return Table(title, columns, rows, ["mean ± std over seeds; (r×) = model mean / baseline mean at that horizon.",
                                        *notes])


def horizon_plot(records: list[RunRecord], baseline: str | None, family: str, ylabel: str, title: str,
                 log_y: bool = True, log_x: bool = False, ax: Any = None) -> plt.Figure:
    """One metric family against the horizon: mean over seeds, ± std band, the baseline dashed grey."""
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.5, 3.6))
    keys = family_keys(records, family)
    for i, (name, rs) in enumerate(_by_model(records, baseline).items()):
        hs = [h for h, k in keys.items() if all(k in r.metrics for r in rs)]
        if not hs:
            continue
        stats = [mean_std([r.metrics[keys[h]] for r in rs]) for h in hs]
        m = [a for a, _ in stats]
        lo, hi = [a - b for a, b in stats], [a + b for a, b in stats]
        style = {"color": "0.5", "linestyle": "--"} if name == baseline else {"color": f"C{i}"}
        ax.plot(hs, m, marker="o", ms=3, label=name, **style)
        ax.fill_between(hs, lo, hi, color=style["color"], alpha=0.2)
    if log_y:
        ax.set_yscale("log")
    if log_x:
        ax.set_xscale("log", base=2)
        ax.set_xticks(list(keys), [str(h) for h in keys])
        ax.minorticks_off()
    ax.set_xlabel("horizon (steps)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)
    figure = fig if fig is not None else ax.figure
    figure.tight_layout()
    return figure


def training_curves_plot(histories: dict[str, list[dict[str, float]]], ylabel: str, title: str,
                         key: str = "val_loss", train_key: str | None = "train_loss", log_y: bool = True) -> plt.Figure:
    """Validation curves (solid) and training-batch losses (dotted) against the optimizer step.

    Args:
        histories: model name -> the Trainer's history (dicts with ``step``, ``key``, ``train_key``).
        ylabel, title: axis label and title.
        key: the validation quantity; train_key: the training one (``None``: none drawn).
        log_y: logarithmic y axis.
    """
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for i, (name, hist) in enumerate(sorted(histories.items())):
        points = [h for h in hist if key in h]
        if not points:
            continue
        ax.plot([h["step"] for h in points], [h[key] for h in points], color=f"C{i}", label=f"{name}")
        if train_key is not None:
            train = [h for h in hist if train_key in h]
            ax.plot([h["step"] for h in train], [h[train_key] for h in train], color=f"C{i}", ls=":", lw=0.8)
    if log_y:
        ax.set_yscale("log")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if histories:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def _markdown_table(t: Table) -> str:
    lines = [f"### {t.title}", "", "| " + " | ".join(t.columns) + " |", "|" + "---|" * len(t.columns)]
    lines += ["| " + " | ".join(row) + " |" for row in t.rows]
    lines += [""] + [f"_{n}_" for n in t.notes]
    return "\n".join(lines) + "\n"


_CODE = re.compile(r"`([^`\n]+)`")


def inline_html(text: str) -> str:
    """``text`` escaped for HTML, with Markdown inline code (`` `x` ``) as ``<code>x</code>``."""
    return _CODE.sub(r"<code>\1</code>", html.escape(text, quote=False))


def _html_table(t: Table) -> str:
    head = "".join(f"<th>{inline_html(c)}</th>" for c in t.columns)
    body = "".join("<tr>" + "".join(f"<td>{inline_html(c)}</td>" for c in row) + "</tr>" for row in t.rows)
    notes = "".join(f"<p class='note'>{inline_html(n)}</p>" for n in t.notes)
    return f"<h3>{inline_html(t.title)}</h3><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{notes}"


_CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0;font-size:.9em}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:right}
th:first-child,td:first-child{text-align:left}thead{background:#f3f3f3}.note{color:#666;font-size:.85em}
img{max-width:100%;border:1px solid #eee}code{background:#f6f6f6;padding:0 .2em}"""


def _provenance(records: list[RunRecord]) -> list[str]:
    r = records[0]
    sha = (r.git_sha or "unknown")[:12] + (" (dirty)" if r.git_dirty else "")
    return [
        f"task `{r.task}` v{r.task_version}, pipeline `{r.pipeline}`, config hash `{r.config_hash[:12]}`",
        f"git {sha}; {r.hardware.get('cpu')} ({r.hardware.get('torch_threads')} threads, {r.hardware.get('device')}); "
        f"torch {r.versions.get('torch')}",
    ]


def write_report(records: list[RunRecord], out_dir: Path, title: str,
                 run_dirs: Sequence[Path] | None = None) -> tuple[Path, Path]:
    """Write ``report.md``, ``report.html`` and ``plots/*.png`` for ``records`` into ``out_dir``.

    Records are grouped by (pipeline, task); each task supplies its tables and plots, the plots
    from ``run_dirs`` (the folders the records came from; ``[out_dir]`` by default).
    """
    from sciformers.evaluation.tasks import get_task

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "plots").mkdir(exist_ok=True)
    groups: dict[tuple[str, str], list[RunRecord]] = defaultdict(list)
    for r in records:
        groups[(r.pipeline, r.task)].append(r)
    md = [f"# {title}", ""]
    body = [f"<h1>{inline_html(title)}</h1>"]
    if not records:
        md.append("No records.")
        body.append("<p>No records.</p>")
    summarised: set[str] = set()
    for (pipeline, task_name), rs in sorted(groups.items()):
        umbrella = rs[0].config.get("task")
        if pipeline not in summarised and umbrella and umbrella not in {t for _, t in groups}:
            # a pipeline whose task fans out into sub-tasks (one per dataset): its own cross-task tables first
            summarised.add(pipeline)
            everything = [r for r in records if r.pipeline == pipeline]
            md += [f"## {pipeline}: summary", ""]
            body.append(f"<h2>{inline_html(pipeline)}: summary</h2>")
            for table in get_task(umbrella).tables(everything):
                md.append(_markdown_table(table))
                body.append(_html_table(table))
        task = get_task(task_name)
        md += [f"## {pipeline}", "", task.description, ""] + [f"- {p}" for p in _provenance(rs)] + [""]
        body.append(f"<h2>{inline_html(pipeline)}</h2><p>{inline_html(task.description)}</p><ul>"
                    + "".join(f"<li>{inline_html(p)}</li>" for p in _provenance(rs)) + "</ul>")
        for table in task.tables(rs):
            md.append(_markdown_table(table))
            body.append(_html_table(table))
        for stem, fig in task.plots(rs, [out_dir] if run_dirs is None else run_dirs).items():
            name = f"{pipeline.replace('/', '_')}_{stem}.png"
            buf = io.BytesIO()
            fig.savefig(buf, format="png", dpi=110)
            plt.close(fig)
            (out_dir / "plots" / name).write_bytes(buf.getvalue())
            md += [f"![{stem}](plots/{name})", ""]
            b64 = base64.b64encode(buf.getvalue()).decode()
            body.append(f"<p><img alt='{html.escape(stem)}' src='data:image/png;base64,{b64}'></p>")
    md_path, html_path = out_dir / "report.md", out_dir / "report.html"
    md_path.write_text("\n".join(md) + "\n")
    html_path.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{_CSS}</style></head><body>{''.join(body)}</body></html>\n"
    )
    return md_path, html_path


def tables_default(records: list[RunRecord], baseline: str | None) -> list[Table]:
    """The summary table every task gets unless it overrides ``tables``."""
    return [summary_table(records, baseline)]


def plots_default(records: list[RunRecord], baseline: str | None, primary: str | None) -> dict[str, Any]:
    """A bar chart of the primary metric, when there is one."""
    return {primary: metric_bar_plot(records, primary, baseline)} if primary else {}

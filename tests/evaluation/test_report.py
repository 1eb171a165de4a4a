"""Reports: mean ± std over seeds, ratios to the baseline, self-contained HTML."""

import statistics

from sciformers.evaluation.records import RunRecord, Timings
from sciformers.evaluation.report import summary_table, write_report


def _record(model: str, seed: int, acc: float) -> RunRecord:
    return RunRecord(
        run_id="r", pipeline="attention/listops", task="attention.listops", task_version="1", model=model,
        n_params=10, seed=seed, config={}, config_hash="0" * 64, git_sha=None, git_dirty=None,
        metrics={"accuracy": acc}, higher_is_better={"accuracy": True}, timings=Timings(fit_s=1.0),
        peak_rss_mb=1.0, hardware={"cpu": "x"}, versions={"torch": "t"},
    )


RECORDS = [_record("majority", 0, 0.2), _record("majority", 1, 0.2),
           _record("softmax", 0, 0.4), _record("softmax", 1, 0.5)]


def test_summary_table_puts_baseline_first_with_ratios():
    table = summary_table(RECORDS, "majority")
    assert table.columns[:5] == ["model", "seeds", "params", "accuracy ↑", "accuracy / majority"]
    base, soft = table.rows
    assert base[0] == "majority (baseline)" and base[4] == "1.00×"
    assert soft[0] == "softmax" and soft[1] == "2"
    assert soft[3] == f"0.45 ± {statistics.stdev([0.4, 0.5]):.4g}"
    assert soft[4] == "2.25×"


def test_write_report_inlines_plots(tmp_path):
    md, html = write_report(RECORDS, tmp_path, title="t")
    assert "| softmax | 2 | 10 |" in md.read_text()
    text = html.read_text()
    assert text.count("data:image/png;base64,") == 1 and "<table>" in text
    assert len(list((tmp_path / "plots").glob("*.png"))) == 1


def test_html_renders_markdown_inline_code(tmp_path):
    from sciformers.evaluation.report import inline_html

    assert inline_html("task `a<b>` and `c`") == "task <code>a&lt;b&gt;</code> and <code>c</code>"
    assert inline_html("no `closing") == "no `closing"
    _, html = write_report(RECORDS, tmp_path, title="t")
    text = html.read_text()
    assert "task <code>attention.listops</code> v1, pipeline <code>attention/listops</code>" in text
    body = text.split("<body>", 1)[1]
    assert "`" not in body.replace("data:image/png;base64,", "")

"""The sweep report: one self-contained HTML file (inline CSS and SVG, no scripts, no external
assets) from a sweep's results document.

    from sandbox.report import write_report
    write_report(read_results("sweep-out/results.json"), Path("sweep-out/report.html"))

Sections: headline chart (success per agent and profile), the production cost next to it (mean cost
per agent and profile, what the sandbox caught that production would have paid for), summary table
with pass^k and cost, the noise floor, paired deltas against the no-fault baseline (chart and table),
and one drill-down per episode (timeline of exchanges, faults, row changes, reasons, what its
failures would have cost, the agent's last output lines).
"""

from __future__ import annotations

from collections import defaultdict
from html import escape
from pathlib import Path
from typing import Any

from sandbox.report.charts import forest, grouped_bars, timeline
from sandbox.sweep import stats

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1a202c;margin:24px auto;max-width:1180px;
padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e2e8f0}
table{border-collapse:collapse;width:100%;margin:8px 0}th,td{padding:4px 8px;border-bottom:1px solid #edf2f7;
text-align:left;vertical-align:top}th{background:#f7fafc;font-weight:600}td.num{text-align:right;
font-variant-numeric:tabular-nums}.pass{color:#2f855a;font-weight:600}.fail{color:#c53030;font-weight:600}
.muted{color:#718096}.box{background:#f7fafc;border:1px solid #e2e8f0;border-radius:6px;padding:10px 14px}
details{margin:2px 0}summary{cursor:pointer}pre{background:#1a202c;color:#e2e8f0;padding:8px;overflow:auto;
font-size:12px;border-radius:4px}.sig{font-weight:600}code{font-size:12px}
"""


def _profile(ref: str) -> str:
    """A profile given as a file path shows as its name; the full path is in the config box."""
    return Path(ref).stem if "/" in ref else ref


def _num(value: Any, fmt: str = "{:.2f}") -> str:
    return '<td class="num">' + ("–" if value is None else escape(fmt.format(value))) + "</td>"


def _dollars(value: float | None) -> str:
    return "–" if value is None else f"${value:,.2f}"


def _cost_cell(value: float | None) -> str:
    return f'<td class="num cost">{escape(_dollars(value))}</td>'


def _verdict(success: bool) -> str:
    return '<span class="pass">pass</span>' if success else '<span class="fail">fail</span>'


def render_report(doc: dict[str, Any], *, title: str = "Sweep report") -> str:
    config = doc.get("config", {})
    rows = doc["rows"]
    summary = doc.get("summary", [])
    trials = int(config.get("trials") or 1)
    out = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}</title>"
           f"<style>{CSS}</style></head><body>", f"<h1>{escape(title)}</h1>", _config(config, rows),
           _backend(doc.get("backend"))]
    out.append("<h2>Success by agent and fault profile</h2>")
    out.append(_success_chart(rows))
    out.append("<h2>Cost: what production would have paid</h2>")
    out.append(_cost(doc.get("cost") or stats.costs(rows), rows))  # older results files: from the rows
    out.append("<h2>Summary: success and pass^k per task and profile</h2>")
    out.append(_summary_table(summary, trials))
    out.append("<h2>Noise floor</h2>")
    out.append(_noise(doc.get("noise", {}), doc.get("config", {}).get("fault_draws", "shared")))
    out.append("<h2>Paired deltas against the no-fault baseline</h2>")
    out.append(_deltas(doc.get("deltas", [])))
    out.append("<h2>Episodes</h2>")
    out.append(_episodes(rows, doc.get("episodes", {})))
    out.append("</body></html>")
    return "\n".join(out)


def write_report(doc: dict[str, Any], path: Path, *, title: str = "Sweep report") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(doc, title=title), encoding="utf-8")
    return path


def _config(config: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    agents = config.get("agents", {})
    items = [f"<b>{len(rows)}</b> episodes",
             f"tasks: {escape(', '.join(config.get('tasks', [])))}",
             f"fault profiles: {escape(', '.join(config.get('faults', [])))}",
             f"seeds per task: {escape(str(config.get('seeds')))}", f"trials: {escape(str(config.get('trials')))}",
             f"fault draws: {escape(str(config.get('fault_draws', 'shared')))}"]  # per-trial: each trial its own
    agent_list = "".join(f"<li><b>{escape(k)}</b>: <code>{escape(v)}</code></li>" for k, v in agents.items())
    return f'<div class="box">{" · ".join(items)}<ul>{agent_list}</ul></div>'


def _backend(backend: dict[str, Any] | None) -> str:
    """Where a Ray sweep ran, and what it lost: nothing for a local sweep."""
    if not backend:
        return ""
    sandboxes = "".join(f"<li><b>{escape(s['sandbox'])}</b> on node <code>{escape(s['node'][:12])}</code>"
                        + (f" ({escape(s['host'])}), home <code>{escape(s['home'])}</code>" if "home" in s else "")
                        + "</li>" for s in backend.get("sandboxes", []))
    lost = backend.get("lost", [])
    lines = "".join(f"<li>{escape(x['agent'])} · {escape(x['task'])} · {escape(_profile(x['faults']))} · seed "
                    f"{x['seed']} · trial {x['trial']}: lost with {escape(x['sandbox'])} ({escape(x['error'])})</li>"
                    for x in lost)
    return (f'<div class="box backend">Ran on Ray ({escape(str(backend.get("cluster", "")))}), '
            f'{len(backend.get("sandboxes", []))} sandboxes:<ul>{sandboxes}</ul>'
            + (f'<b>{len(lost)} episodes lost with their sandbox and run again</b> (marked "rerun" below):'
               f"<ul>{lines}</ul>" if lost else "No episode was lost.") + "</div>")


def _success_chart(rows: list[dict[str, Any]]) -> str:
    by: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        by[row["agent"]][_profile(row["faults"])].append(bool(row["success"]))
    groups = [(agent, [(faults, sum(v) / len(v)) for faults, v in profiles.items()]) for agent, profiles in by.items()]
    return grouped_bars("Success rate (all tasks, seeds and trials)", groups, y_label="success rate")


def _summary_table(summary: list[dict[str, Any]], trials: int) -> str:
    ks = list(range(1, max(1, trials) + 1))
    head = ("<tr><th>agent</th><th>task</th><th>faults</th><th>episodes</th><th>success</th><th>mean score</th>"
            + "".join(f"<th>pass^{k}</th>" for k in ks)
            + "<th>calls</th><th>retries</th><th>dup. writes</th><th>mean cost</th></tr>")
    body = []
    for s in summary:
        body.append(
            f"<tr><td>{escape(s['agent'])}</td><td>{escape(s['task'])}</td><td>{escape(_profile(s['faults']))}</td>"
            + _num(s["episodes"], "{}") + _num(s["success_rate"]) + _num(s["mean_score"])
            + "".join(_num(s["pass_k"].get(str(k))) for k in ks)
            + _num(s["mean_calls"], "{:.1f}") + _num(s["retries"], "{}") + _num(s["duplicated_writes"], "{}")
            + _cost_cell(s.get("mean_cost")) + "</tr>")
    return f'<table class="summary">{head}{"".join(body)}</table>'


def _cost(cost: dict[str, Any], rows: list[dict[str, Any]]) -> str:
    """The headline (what the sandbox caught), mean cost per agent and profile as bars, and the table,
    agents and profiles in the order of the success chart above it."""
    total = cost.get("total")
    if not total:
        return '<p class="muted">No episodes.</p>'
    agents = {a: i for i, a in enumerate(dict.fromkeys(r["agent"] for r in rows))}
    profiles = {f: i for i, f in enumerate(dict.fromkeys(r["faults"] for r in rows))}
    lines = sorted(cost.get("by_agent_profile", []),
                   key=lambda c: (agents.get(c["agent"], len(agents)), profiles.get(c["faults"], len(profiles))))
    head = (f'<p class="box caught">This sweep caught <b>{escape(_dollars(total["caught_cost"]))}</b> that a'
            f" production run would have paid for: the cost of the failing episodes, priced by each task's price list"
            f" (money moved wrongly, messages sent, private data leaked, cleanup). All episodes:"
            f" {escape(_dollars(total['total_cost']))}"
            + (f"; {total['unpriced']} not priced (sweep errors)" if total.get("unpriced") else "") + ".</p>")
    by: dict[str, list[tuple[str, float | None]]] = defaultdict(list)
    for line in lines:
        by[line["agent"]].append((_profile(line["faults"]), line["mean_cost"]))
    top = max([v for bars in by.values() for _, v in bars if v is not None] or [0.0])
    chart = grouped_bars("Mean production cost per episode (dollars)", list(by.items()), y_label="dollars",
                         top=_nice(top), fmt=_dollars, short=lambda v: f"${v:,.0f}" if v >= 100 else _dollars(v),
                         axis=lambda v: f"${v:,.0f}")
    table_head = ("<tr><th>agent</th><th>faults</th><th>episodes</th><th>success</th><th>mean cost</th>"
                  "<th>total cost</th><th>caught (failing episodes)</th></tr>")
    body = "".join(
        f"<tr><td>{escape(line['agent'])}</td><td>{escape(_profile(line.get('faults') or '(all profiles)'))}</td>"
        + _num(line["episodes"], "{}") + _num(line["success_rate"]) + _cost_cell(line["mean_cost"])
        + _cost_cell(line["total_cost"]) + _cost_cell(line["caught_cost"]) + "</tr>"
        for line in [*lines, *sorted(cost.get("by_agent", []), key=lambda c: agents.get(c["agent"], len(agents)))])
    return head + chart + f'<table class="cost">{table_head}{body}</table>'


def _nice(value: float) -> float:
    """The chart's top: the next 1, 2 or 5 × 10^n above the largest bar, so ticks read as round sums."""
    if value <= 0:
        return 1.0
    step = 1.0
    while step * 10 <= value:
        step *= 10
    while step > value * 10:
        step /= 10
    for factor in (1, 2, 5, 10):
        if step * factor >= value:
            return step * factor
    return step * 10


def _noise(noise: dict[str, Any], draws: str = "shared") -> str:
    rate = noise.get("flip_rate")
    if rate is None:
        return '<p class="muted">One trial per configuration: run with --trials 2 or more to measure noise.</p>'
    # With per-trial fault draws the trials of a configuration met different faults: their flips are
    # the faults' timing as much as the agent's own noise.
    trials = "Trials, each with its own fault draws," if draws == "per-trial" else "Identical trials"
    return (f'<p class="box">{trials} disagreed on success in <b>{rate:.1%}</b> of {noise["pairs"]} trial'
            f' pairs; {noise["flaky_configs"]} of {noise["configs"]} configurations were flaky (passed some'
            " trials, failed others). Deltas inside this floor are not evidence.</p>")


def _deltas(deltas: list[dict[str, Any]]) -> str:
    if not deltas:
        return '<p class="muted">No fault profile besides "none", or no baseline: nothing to compare.</p>'
    pooled = [d for d in deltas if d["task"] == "(all tasks)" and d["metric"] == "score" and d["delta"] is not None]
    chart = forest("Score delta vs. no faults (95% bootstrap CI)",
                   [(f"{d['agent']} · {_profile(d['faults'])}", d["delta"], d["ci_low"], d["ci_high"]) for d in pooled])
    head = ("<tr><th>agent</th><th>task</th><th>faults</th><th>metric</th><th>pairs</th><th>delta</th>"
            "<th>95% CI</th><th>beyond noise?</th></tr>")
    body = []
    for d in deltas:
        ci = "–" if d["ci_low"] is None else f"[{d['ci_low']:+.2f}, {d['ci_high']:+.2f}]"
        body.append(f"<tr><td>{escape(d['agent'])}</td><td>{escape(d['task'])}</td>"
                    f"<td>{escape(_profile(d['faults']))}</td>"
                    f"<td>{escape(d['metric'])}</td>" + _num(d["pairs"], "{}") + _num(d["delta"], "{:+.2f}")
                    + f'<td class="num">{escape(ci)}</td><td class="{"sig" if d["significant"] else "muted"}">'
                    + ("yes" if d["significant"] else "no") + "</td></tr>")
    return chart + f'<table class="deltas">{head}{"".join(body)}</table>'


def _episodes(rows: list[dict[str, Any]], episodes: dict[str, Any]) -> str:
    head = ("<tr><th>episode</th><th>agent</th><th>task</th><th>faults</th><th>seed</th><th>trial</th>"
            "<th>result</th><th>score</th><th>cost</th><th>calls</th><th>errors</th><th>retries</th><th>dup.</th>"
            "<th>s</th></tr>")
    body = []
    for row in rows:
        drill = episodes.get(row["episode"], {})
        body.append(
            f'<tr class="episode" id="{escape(row["episode"])}"><td>{escape(row["episode"])}</td>'
            f"<td>{escape(row['agent'])}</td><td>{escape(row['task'])}</td><td>{escape(_profile(row['faults']))}</td>"
            + _num(row["seed"], "{}") + _num(row["trial"], "{}") + f"<td>{_verdict(row['success'])}{_rerun(row)}</td>"
            + _num(row["score"]) + _cost_cell(row.get("cost"))
            + _num(row["calls"], "{}") + _num(row["errors"], "{}") + _num(row["retries"], "{}")
            + _num(row["duplicated_writes"], "{}") + _num(row["seconds"], "{:.2f}") + "</tr>"
            + f'<tr><td colspan="14">{_drill(row, drill)}</td></tr>')
    return f'<table class="episodes">{head}{"".join(body)}</table>'


def _rerun(row: dict[str, Any]) -> str:
    """A Ray sweep's episode that was run again after its sandbox was lost says so beside its result."""
    reruns = row.get("reruns") or 0
    return f' <span class="muted rerun">rerun ×{reruns}</span>' if reruns else ""


def _drill(row: dict[str, Any], drill: dict[str, Any]) -> str:
    exchanges = drill.get("exchanges", [])
    reasons = "".join(f"<li>{escape(r)}</li>" for r in row.get("reasons", []))
    lines = "".join(
        f"<tr><td>{e['id']}</td><td>{escape(e['method'])}</td><td><code>{escape(e['host'] + e['path'])}</code></td>"
        f"<td>{escape(str(e['status'] or e['outcome']))}</td>" + _num(e["ms"], "{:.1f}")
        + f"<td>{escape('; '.join(e['faults']))}</td></tr>"
        for e in exchanges)
    changes = "".join(f"<li><code>{escape(c['change'])}</code> <span class=muted>(exchange {c['exchange']})</span></li>"
                      for c in drill.get("changes", []))
    setup = "".join(f"<li><code>{escape(c)}</code></li>" for c in drill.get("setup", []))
    costs = "".join(f"<tr>{_cost_cell(line['amount'])}<td>{escape(line['what'])}</td>"
                    f"<td class=muted>{escape(line['why'])}</td></tr>" for line in row.get("cost_lines") or [])
    log = drill.get("agent_log") or ""
    return (
        f"<details><summary>{escape(row['episode'])}: {len(exchanges)} exchanges, "
        f"{len(drill.get('changes', []))} changes, {len(drill.get('faults', []))} faults</summary>"
        + timeline(exchanges)
        + f"<ul>{reasons}</ul>"
        + (f'<p><b>what it would have cost in production: {escape(_dollars(row.get("cost")))}</b></p>'
           f'<table class="cost-lines"><tr><th>cost</th><th>what</th><th>why</th></tr>{costs}</table>'
           if costs else "")
        + ("<table><tr><th>#</th><th>method</th><th>url</th><th>status</th><th>ms</th><th>faults</th></tr>"
           f"{lines}</table>" if lines else '<p class="muted">no exchanges</p>')
        + (f"<p><b>row changes</b></p><ul>{changes}</ul>" if changes else '<p class="muted">no row changes</p>')
        + (f"<p><b>setup (before the agent)</b></p><ul>{setup}</ul>" if setup else "")
        + (f"<p><b>agent output (last lines)</b></p><pre>{escape(log)}</pre>" if log else "")
        + "</details>"
    )

"""Sweeps: agents × tasks × fault profiles × seeds × trials, as isolated episodes, with pass^k,
the noise floor and paired deltas against the no-fault baseline.

    from sandbox.sweep import build_plan, run_sweep, write_results
    plan = build_plan({"careful": ["python", "examples/careful_refund_agent.py"]},
                      ["refund-duplicate-charge"], ["none", "ghost-refund"], seeds=1, trials=3)
    doc = run_sweep(plan, home=home, ports=sandbox.ports, parallel=2)
    write_results(doc, Path("sweep-out"))
"""

from sandbox.sweep.plan import BASELINE, Cell, SweepPlan, agent_name, build_plan, parse_agent, parse_faults, parse_tasks
from sandbox.sweep.results import read_results, write_results
from sandbox.sweep.run import results_document, run_sweep

__all__ = [
    "BASELINE", "Cell", "SweepPlan", "agent_name", "build_plan", "parse_agent", "parse_faults", "parse_tasks",
    "read_results", "results_document", "run_sweep", "write_results",
]

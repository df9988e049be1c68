"""What a sweep runs: agents × tasks × fault profiles × seeds × trials, validated before any agent
starts, so a typo in the 40th profile fails in a second and not after an hour."""

from __future__ import annotations

import hashlib
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from sandbox.errors import ConfigError, SandboxError
from sandbox.faults import profile_ref
from sandbox.tasks import Task, library_ids, load_task

BASELINE = "none"
# How the trials of one configuration draw their faults (`sandbox sweep --fault-draws`):
#   shared     every trial draws from the world seed: the same agent meets the same faults at the same
#              calls in every trial, so only the agent's own nondeterminism can make trials differ;
#   per-trial  trial k draws from its own fault seed (`trial_fault_seed`): a fault with probability p
#              hits some trials and spares others, and pass^k measures the agent against that chance.
FAULT_DRAWS = ("shared", "per-trial")


@dataclass(frozen=True)
class Cell:
    agent: str
    task: Task
    faults: str  # "none" or a profile reference (library name or absolute path)
    seed: int
    trial: int  # 1..k
    fault_seed: int | None = None  # what the fault profile draws from; None: the world seed

    @property
    def draw_seed(self) -> int:
        return self.seed if self.fault_seed is None else self.fault_seed


@dataclass
class SweepPlan:
    agents: dict[str, list[str]]
    tasks: list[str]
    faults: list[str]
    seeds: int
    trials: int
    cells: list[Cell] = field(default_factory=list)
    fault_draws: str = "shared"

    def config(self) -> dict[str, object]:
        return {"agents": {k: " ".join(shlex.quote(a) for a in v) for k, v in self.agents.items()},
                "tasks": self.tasks, "faults": self.faults, "seeds": self.seeds, "trials": self.trials,
                "fault_draws": self.fault_draws, "episodes": len(self.cells)}


def trial_fault_seed(world_seed: int, trial: int, fault_draws: str = "shared") -> int:
    """The fault seed of trial `trial` (1-based) of a world. Shared draws, and trial 1 of per-trial
    draws, use the world seed itself (so trial 1 meets what `sandbox run` meets); trial k > 1 of
    per-trial draws uses the first 63 bits of BLAKE2b-64("fault-draws|<world seed>|<k>"), a stable
    function of the two: rerun the trial alone with `sandbox run --fault-seed N`."""
    if fault_draws not in FAULT_DRAWS:
        raise ConfigError(f"--fault-draws {fault_draws!r} is not one of {', '.join(FAULT_DRAWS)}")
    if fault_draws == "shared" or trial == 1:
        return world_seed
    digest = hashlib.blake2b(f"fault-draws|{world_seed}|{trial}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1  # fits SQLite's signed 64-bit INTEGER


def split_list(text: str, option: str) -> list[str]:
    """`a,b,c` -> [a, b, c]; an empty entry or a repeated one is an error that names it."""
    if not text or not text.strip():
        raise ConfigError(f"{option} is empty", hint=f"give a comma-separated list, e.g. {option} a,b")
    items = [item.strip() for item in text.split(",")]
    for i, item in enumerate(items, 1):
        if not item:
            raise ConfigError(f"{option} {text!r}: entry {i} is empty", hint="remove the extra comma")
        if items.index(item) != i - 1:
            raise ConfigError(f"{option} {text!r}: {item!r} appears twice", hint="list each entry once")
    return items


def parse_faults(text: str) -> list[str]:
    """`none,PROFILE,...`: each profile validated now (library name or YAML path)."""
    out = []
    for i, item in enumerate(split_list(text, "--faults"), 1):
        if item == BASELINE:
            out.append(item)
            continue
        try:
            out.append(profile_ref(item))
        except SandboxError as exc:
            raise ConfigError(f"--faults entry {i} ({item!r}): {exc.message}", hint=exc.hint) from None
    return out


def parse_tasks(text: str) -> list[str]:
    """Task ids or YAML paths, comma-separated; `all` is the whole library."""
    items = split_list(text, "--tasks")
    if items == ["all"]:
        return library_ids()
    for i, item in enumerate(items, 1):
        try:
            load_task(item)
        except SandboxError as exc:
            raise ConfigError(f"--tasks entry {i} ({item!r}): {exc.message}", hint=exc.hint) from None
    return items


def parse_agent(spec: str) -> tuple[str, list[str]]:
    """`NAME=COMMAND ...` -> (name, argv)."""
    name, sep, command = spec.partition("=")
    if not sep or not name.strip() or not command.strip():
        raise ConfigError(f"--agent {spec!r}: expected NAME=COMMAND", hint="e.g. --agent careful='python a.py'")
    return name.strip(), shlex.split(command)


def agent_name(command: list[str]) -> str:
    """A readable name for a bare COMMAND: the stem of its script or module, else the program."""
    for arg in reversed(command):
        if arg.endswith(".py"):
            return Path(arg).stem
    if "-m" in command[:-1]:
        return command[command.index("-m") + 1].rsplit(".", 1)[-1]
    return Path(command[0]).name


def build_plan(agents: dict[str, list[str]], tasks: list[str], faults: list[str], seeds: int, trials: int,
               fault_draws: str = "shared") -> SweepPlan:
    """Every cell, in order. `fault_draws`: `shared` or `per-trial` (see FAULT_DRAWS)."""
    if fault_draws not in FAULT_DRAWS:
        raise ConfigError(f"--fault-draws {fault_draws!r} is not one of {', '.join(FAULT_DRAWS)}",
                          hint="shared: every trial meets the same faults; per-trial: each trial draws its own")
    if not agents:
        raise ConfigError("no agent to sweep", hint="sandbox sweep --tasks T -- python my_agent.py")
    if seeds < 1 or trials < 1:
        raise ConfigError(f"--seeds and --trials must be at least 1 (got {seeds} and {trials})")
    plan = SweepPlan(agents, tasks, faults, seeds, trials, fault_draws=fault_draws)
    for task_ref in tasks:
        base = load_task(task_ref)
        # Seed i of a sweep is the task's own seed + i: seed 0 of the sweep is the task as written.
        worlds = [base] + [load_task(task_ref, seed=base.seed + i) for i in range(1, seeds)]
        for agent in agents:
            for profile in faults:
                for task in worlds:
                    for trial in range(1, trials + 1):
                        plan.cells.append(Cell(agent, task, profile, task.seed, trial,
                                               trial_fault_seed(task.seed, trial, fault_draws)))
    return plan

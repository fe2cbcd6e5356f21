"""The workshop's tasks, in order: each is one test module of the workspace and one worked solution."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    number: int
    name: str  # the test module is tests/test_<number>_<name>.py
    title: str

    @property
    def module(self) -> str:
        return f"tests/test_{self.number:02d}_{self.name}.py"


TASKS: tuple[Task, ...] = (
    Task(1, "numbers", "numbers through + and *"),
    Task(2, "local_derivatives", "local derivatives"),
    Task(3, "topological_order", "topological order"),
    Task(4, "backward", "backward"),
    Task(5, "tanh_exp_pow", "tanh, exp and **"),
    Task(6, "neuron", "a neuron"),
    Task(7, "mlp", "an MLP"),
    Task(8, "training", "training on two moons"),
    Task(9, "own_op", "an op of your own, to the second order"),
)


def find_task(name: str) -> Task:
    """The task named by its number ('4') or its name ('backward'); KeyError naming the choices."""
    for task in TASKS:
        if name.strip().lstrip("0") == str(task.number) or name.strip() == task.name:
            return task
    choices = ", ".join(f"{t.number} ({t.name})" for t in TASKS)
    raise KeyError(f"no task {name!r}; the tasks are {choices}")

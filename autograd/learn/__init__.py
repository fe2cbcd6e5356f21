"""`chainrule learn`: a workshop in which you build your own autodiff engine, task by task.

    chainrule learn init DIR         a workspace: the package mygrad to complete, tests per task, a README
    chainrule learn check [DIR]      run the tasks in order: a progress table and the first problem
    chainrule learn solution TASK    a worked solution of one task

The tests use chainrule as the oracle (`oracle.py`): your numbers and gradients against
chainrule's on the same expressions, every failure said in words, and where a gradient goes wrong
a picture of your graph beside chainrule's (`picture.py`). Nothing here imports `nn`.
"""

from autograd.learn.tasks import TASKS, Task, find_task
from autograd.learn.workspace import WorkspaceError, apply_solution, init, solution_text

__all__ = ["TASKS", "Task", "WorkspaceError", "apply_solution", "find_task", "init", "solution_text"]

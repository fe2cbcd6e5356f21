"""mygrad: the autodiff engine you build, task by task (see README.md)."""

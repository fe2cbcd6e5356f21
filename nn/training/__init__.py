"""Training: losses, optimizers, schedules, fit and its callbacks, live view, layer statistics."""

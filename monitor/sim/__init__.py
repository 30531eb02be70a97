"""The simulated provider fleet: knows nothing of the monitor's internals."""

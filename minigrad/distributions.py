"""mg.distributions (work in progress: filled in by its issue)."""


"""mg.data (work in progress: filled in by its issue)."""


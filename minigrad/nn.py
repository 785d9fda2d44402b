"""mg.nn (work in progress: filled in by its issue)."""


"""mg.models (work in progress: filled in by its issue)."""


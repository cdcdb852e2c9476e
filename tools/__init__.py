"""Developer tools of the monorepo (not shipped)."""

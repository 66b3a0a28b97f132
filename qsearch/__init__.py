"""qsearch."""

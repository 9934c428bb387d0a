"""Prompt templates shipped with repopack (installed as repopack.prompts)."""

"""LLM prompt templates, versioned as files."""

"""lamina's built-in plugins: each module is one entry point in group `lamina`, registered in
pyproject.toml exactly as a third party's plugin would be."""

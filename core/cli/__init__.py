"""The `lamina` command line: its commands, TOML run configs, CSV files and model summaries."""

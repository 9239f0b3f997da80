"""The plugin machinery: the hook specifications and the manager that finds plugins by entry point,
loads them through pluggy and fills the registry (reached through lamina.component.registry)."""

"""The `tracker` commands, one module per concern; `tracker.cli` defines the group and registers them."""

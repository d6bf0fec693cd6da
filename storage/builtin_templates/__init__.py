"""Built-in plan templates, one readable YAML file each (see storage.templates)."""

"""Knowledge packs: one per municipality, YAML files that admins edit under ``knowledge/<pack>/``."""

"""The shared REST layer: one resolver factory, the caller's identity, the API models."""

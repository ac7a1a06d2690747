"""Access control: bearer tokens with scopes, stored hashed."""

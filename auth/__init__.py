"""Identity: OIDC claims to roles and police-service scope."""

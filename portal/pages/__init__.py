"""The portal's pages, a router per resource (``portal.app`` includes them)."""

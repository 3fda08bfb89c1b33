"""Identity: the registry of regions, agencies, staff and citizens (event-sourced, rules
in ``domain.accounts``), passwords, sign-in sessions and the mail that carries one-time
codes."""

"""Face verification: enrolment and verification on their own worker (torch lives only there)."""

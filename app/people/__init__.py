"""People: who a visitor is, how they sign in, and what they may do."""

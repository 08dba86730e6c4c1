"""Types shared by every stage: money, ids, intents, decisions, states, errors, limits, clock."""

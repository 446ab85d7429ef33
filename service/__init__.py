"""South–South cooperation matchmaking service."""

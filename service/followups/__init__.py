"""Joint monitoring of commitments and agreements: activities, due dates and progress notes."""

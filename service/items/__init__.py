"""Offers and needs: the forms each country fills in, per accelerator factor."""

"""Relais: police–community coordination dashboard for domestic-violence interventions."""

"""Adaptive periodization planner: strength and mobility work scheduled around a cyclist's rides."""

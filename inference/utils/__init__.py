"""Small helpers shared by the engine: device choice and thread scoping, command-line argument types."""

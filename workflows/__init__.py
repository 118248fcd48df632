"""The pipeline's state machine definitions, built from the components' task integrations."""

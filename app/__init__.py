"""The sample pipeline's own pieces, built from the components: its workflow and its handlers' settings."""

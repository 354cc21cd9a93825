"""Run-spec room: the config vocabulary, the typed run spec, validation, grid expansion, run identity."""

"""Sub-commands of `encore`, one module each; every module has `register(app)` and keeps
its heavy imports inside the command bodies so that `encore --help` stays fast."""

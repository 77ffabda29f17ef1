"""The bundled demo: a catalog of real, well-known titles with descriptions written for
Encore, and a seeded generator of SYNTHETIC interactions from taste profiles."""

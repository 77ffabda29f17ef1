"""Replaying human dialogues in ReDial's format: the loader and turn split (``redial.py``),
ReDial movies mapped to a catalog (``mapping.py``), recall over (turn, movie) pairs with its
"novel" variant (``metrics.py``), the systems compared on the same turns (``systems.py``)
and one run end to end, as ``encore eval --dialogues`` runs it (``run.py``)."""

"""rumvault's detectors, bundled: the wheel build copies ``privacy/*.py`` of the repository here."""

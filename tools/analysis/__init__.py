"""Pure analysis over data: detectors, log templates, RCA ranking, series statistics."""

"""The efficacy end-points of the simulated study, one module each: :mod:`.pfs`
(best response, PFS, duration of response), :mod:`.os` (survival, follow-up) and
:mod:`.ttd` (time to deterioration), with what they share in :mod:`.shared`."""

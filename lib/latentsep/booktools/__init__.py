"""The machinery that executes, checks and renders this book; not part of the library's analysis API.

- :mod:`.bookrun` -- executes the chapters with papermill (per profile, re-running only what
  changed) and renders them with Jupyter Book (``python -m latentsep.booktools.bookrun``);
- :mod:`.profile_checks`, :mod:`.preflight`, :mod:`.cost` -- before any chapter runs: the profile's
  parameters, every dataset root and encoder it needs, and an estimate of the time it will take;
- :mod:`.rehearse` -- the full profile's code paths at tiny sizes on invented data (``make rehearse``);
- :mod:`.pages`, :mod:`.overview_pages` -- what a reader meets: findings boxes, provenance,
  status and landing pages, generated from the executed chapters;
- :mod:`.browsercheck` -- every built page opened in headless Chromium at 1280 px.
"""

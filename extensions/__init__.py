"""The template's Jinja extensions, one module per concern; extensions/context.py loads this
folder as a package by path (copier-template-extensions loads files, not packages).

- catalogue: services.yml and what it gives a set of answers (`CatalogueFilters`)
- answers: checks of the one-line answers; the Space's names
- models: the `models` answer (Hub models baked into the image)
- origin_checks: `frontend_origins` and `cors_origin_regex`, by the app's own origins.py
- questions: every answer against copier.yml, up front and before an update (`AnswerChecks`)
- filters: writing answers into Python, YAML, Markdown and .env files (`CodeFilters`)
- derived: the values added to every render (`ContextUpdater`)
"""

"""The import paths the released grading packs were fingerprinted with, and nothing else.

The grader is :mod:`certifia_grading.domain` (``Grader``, spec, verdicts, archive, hidden data...). The
released packs (``packs/released.json`` hashes every file of a pack, its import lines included) import
``certifia_grading.engine.spec``, ``.model``, ``.inference``, ``.sandboxed_inference`` and
``.model_runner``: these modules re-export the domain's objects under those names, so that a released
pack version keeps its files, hence its fingerprint. A pack's next version imports the domain; new code
never imports this package.
"""

"""
The register's admin, a module per subject.

Importing the package registers every admin in the order of the register: the
activity, the catalogues it picks from, its rows listed apart, its reviews,
then who works on it. The import below keeps that order, not the alphabet's.
"""

from ropa.admin import activities, catalogue, children, reviews, people  # noqa: F401, I001

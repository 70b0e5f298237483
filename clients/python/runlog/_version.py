"""The client's version: the VERSION file's, at the root of the repository.

scripts/version.sh --sync writes it; a wheel built by scripts/build-wheels.sh
carries the version stamped from the git tag (the same one, checked). A
leaf module that imports nothing, so that reading the version is free.
"""

VERSION = "0.1.0"

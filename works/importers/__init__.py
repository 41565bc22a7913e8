"""Importers of bibliographic records from open sources."""

from works.importers.openalex import (
    ImportAborted,
    ImportProblem,
    ImportStats,
    import_entities,
    import_paths,
)

__all__ = ["ImportAborted", "ImportProblem", "ImportStats", "import_entities", "import_paths"]

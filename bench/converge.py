"""B1/B2 (placeholder)."""
from pathlib import Path
def run_converge_rows(work: Path, settings):
    raise RuntimeError("not yet")

"""Lambda packaging: an explicit file list from functions/<package> plus functions/common."""
from __future__ import annotations

from pathlib import Path

import pulumi

FUNCTIONS = Path(__file__).resolve().parent.parent / "functions"
SHIPPED_SUFFIXES = {".py", ".json"}
EXCLUDED_PARTS = {"__pycache__", "tests"}


def package_files(package: str) -> dict[str, Path]:
    """Archive path -> source file, for one functions package and the shared common package."""
    files: dict[str, Path] = {}
    for name in (package, "common"):
        root = FUNCTIONS / name
        if not root.is_dir():
            raise FileNotFoundError(f"no functions package {name!r} at {root}")
        for path in sorted(root.rglob("*")):
            rel = path.relative_to(FUNCTIONS)
            if path.is_file() and path.suffix in SHIPPED_SUFFIXES and not EXCLUDED_PARTS & set(rel.parts):
                files[rel.as_posix()] = path
    return files


def package_archive(package: str) -> pulumi.AssetArchive:
    return pulumi.AssetArchive({name: pulumi.FileAsset(str(path)) for name, path in package_files(package).items()})

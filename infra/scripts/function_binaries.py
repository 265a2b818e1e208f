"""Print the Lambda function binaries of the cargo workspace, for `make package`/`deploy`.

A function is a bin target of a workspace package under functions/. Checks, on stderr:
a crate under functions/ that is not a workspace member (it would silently not be built),
a binary the template does not deploy, and a template function with no crate yet (an
error with --require-all, which `make deploy` uses: sam build would fail on it anyway).
Exit status 1 when there is nothing to build or a check fails.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
TEMPLATE = ROOT / "infra" / "template.yaml"


def workspace_binaries() -> tuple[dict[str, Path], set[Path]]:
    out = subprocess.run(
        ["cargo", "metadata", "--no-deps", "--format-version", "1"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    binaries: dict[str, Path] = {}
    members: set[Path] = set()
    for package in json.loads(out)["packages"]:
        crate = Path(package["manifest_path"]).resolve().parent
        if FUNCTIONS.resolve() not in crate.parents:
            continue
        members.add(crate)
        for target in package["targets"]:
            if "bin" in target["kind"]:
                binaries[target["name"]] = crate
    return binaries, members


def template_binaries() -> set[str]:
    # Metadata.BuildProperties.Binary of each function; a plain scan keeps this script free
    # of dependencies (infra/tests/test_template.py checks the template's structure).
    return set(re.findall(r"^\s+Binary:\s*(\S+)\s*$", TEMPLATE.read_text(), re.M))


def main(argv: list[str]) -> int:
    require_all = "--require-all" in argv
    ok = True
    binaries, members = workspace_binaries()
    for manifest in sorted(FUNCTIONS.glob("*/Cargo.toml")):
        if manifest.parent.resolve() not in members:
            print(
                f"error: {manifest.parent.relative_to(ROOT)} is not a workspace member "
                "(add \"functions/*\" to [workspace] members in Cargo.toml)",
                file=sys.stderr,
            )
            ok = False
    deployed = template_binaries()
    for name in sorted(set(binaries) - deployed):
        print(f"warning: binary {name} is not deployed by infra/template.yaml", file=sys.stderr)
    missing = sorted(deployed - set(binaries))
    if missing:
        level = "error" if require_all else "note"
        print(f"{level}: no crate yet for: {' '.join(missing)}", file=sys.stderr)
        ok = ok and not require_all
    if not binaries:
        print("error: no function crates under functions/ yet: nothing to package", file=sys.stderr)
        ok = False
    print(" ".join(sorted(binaries)))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Check the Lambda deployment packages `make package` built.

For every function binary of the workspace (infra/scripts/function_binaries.py), the zip
target/lambda/<binary>/bootstrap.zip must exist and hold one executable `bootstrap` that
is a 64-bit little-endian ELF for the architecture the functions deploy to (aarch64 for
arm64), dynamically linked against glibc no newer than the provided.al2023 runtime's
(2.34). Prints one line per package (sizes included) and exits 1 on any problem.

Run: python infra/scripts/check_packages.py [--target-dir target] [--arch aarch64] BINARY...
The ELF reading is stdlib only; infra/tests/test_packages.py tests it on built-up ELFs.
"""

from __future__ import annotations

import argparse
import re
import struct
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

# provided.al2023 ships glibc 2.34: a binary needing a newer symbol version fails to
# start there ("version `GLIBC_2.35' not found").
MAX_GLIBC = (2, 34)
MACHINES = {183: "aarch64", 62: "x86_64"}
SHT_GNU_VERNEED = 0x6FFFFFFE


@dataclass
class ElfFacts:
    machine: str
    # Every GLIBC_x.y[.z] version the binary needs, as tuples.
    glibc: list[tuple[int, ...]]
    dynamic: bool


class NotElf(ValueError):
    pass


def elf_facts(data: bytes) -> ElfFacts:
    """The machine and the glibc symbol versions an ELF64 little-endian file needs."""
    if data[:4] != b"\x7fELF":
        raise NotElf("not an ELF file")
    if data[4] != 2 or data[5] != 1:
        raise NotElf("not a 64-bit little-endian ELF")
    (e_machine,) = struct.unpack_from("<H", data, 18)
    (e_shoff,) = struct.unpack_from("<Q", data, 40)
    e_shentsize, e_shnum = struct.unpack_from("<HH", data, 58)
    (e_phoff,) = struct.unpack_from("<Q", data, 32)
    e_phentsize, e_phnum = struct.unpack_from("<HH", data, 54)
    machine = MACHINES.get(e_machine, f"machine {e_machine}")
    # PT_INTERP (3): a dynamic executable names its loader.
    dynamic = any(
        struct.unpack_from("<I", data, e_phoff + i * e_phentsize)[0] == 3 for i in range(e_phnum)
    )
    sections = []
    for i in range(e_shnum):
        off = e_shoff + i * e_shentsize
        _name, sh_type, _flags, _addr, sh_offset, sh_size, sh_link, sh_info = struct.unpack_from(
            "<IIQQQQII", data, off
        )
        sections.append((sh_type, sh_offset, sh_size, sh_link, sh_info))
    versions: set[tuple[int, ...]] = set()
    for sh_type, sh_offset, _size, sh_link, sh_info in sections:
        if sh_type != SHT_GNU_VERNEED:
            continue
        strtab_offset = sections[sh_link][1]

        def string(at: int) -> str:
            end = data.index(b"\0", strtab_offset + at)
            return data[strtab_offset + at : end].decode("ascii", "replace")

        entry = sh_offset
        for _ in range(sh_info):  # Verneed entries
            _vn_version, vn_cnt, _file, vn_aux, vn_next = struct.unpack_from("<HHIII", data, entry)
            aux = entry + vn_aux
            for _ in range(vn_cnt):  # Vernaux entries
                _hash, _flags, _other, vna_name, vna_next = struct.unpack_from("<IHHII", data, aux)
                m = re.fullmatch(r"GLIBC_(\d+(?:\.\d+)+)", string(vna_name))
                if m:
                    versions.add(tuple(int(p) for p in m.group(1).split(".")))
                if not vna_next:
                    break
                aux += vna_next
            if not vn_next:
                break
            entry += vn_next
    return ElfFacts(machine=machine, glibc=sorted(versions), dynamic=dynamic)


def version(v: tuple[int, ...]) -> str:
    return ".".join(map(str, v))


def check_zip(path: Path, arch: str) -> tuple[list[str], str]:
    """Problems with one package, and a one-line description of it."""
    if not path.is_file():
        return [f"{path}: missing (did `make package` build it?)"], ""
    problems: list[str] = []
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        if "bootstrap" not in names:
            return [f"{path}: no bootstrap in the zip (has {names})"], ""
        info = z.getinfo("bootstrap")
        data = z.read(info)
    mode = info.external_attr >> 16
    if not mode & 0o111:
        problems.append(f"{path}: bootstrap is not executable (mode {mode:o})")
    try:
        facts = elf_facts(data)
    except (NotElf, struct.error, IndexError, ValueError) as e:
        return problems + [f"{path}: bootstrap: {e}"], ""
    if facts.machine != arch:
        problems.append(f"{path}: bootstrap is built for {facts.machine}, not {arch}")
    if facts.dynamic and not facts.glibc:
        problems.append(f"{path}: bootstrap names no glibc version (cannot tell what it needs)")
    newest = max(facts.glibc, default=None)
    if newest and newest > MAX_GLIBC:
        problems.append(
            f"{path}: bootstrap needs GLIBC_{version(newest)}, newer than provided.al2023's {version(MAX_GLIBC)}"
        )
    line = (
        f"{path}: {facts.machine} ELF, "
        + (f"glibc <= {version(newest)}" if newest else "static")
        + f", {len(data) / 1e6:.2f} MB, zip {path.stat().st_size / 1e6:.2f} MB"
    )
    return problems, line


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("binaries", nargs="+")
    parser.add_argument("--target-dir", default="target", type=Path)
    parser.add_argument("--arch", default="aarch64", choices=sorted(MACHINES.values()))
    args = parser.parse_args(argv)
    problems: list[str] = []
    for binary in args.binaries:
        found, line = check_zip(args.target_dir / "lambda" / binary / "bootstrap.zip", args.arch)
        problems += found
        if line:
            print(line)
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    if problems:
        return 1
    print(f"{len(args.binaries)} packages: {args.arch} bootstrap, glibc <= {version(MAX_GLIBC)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

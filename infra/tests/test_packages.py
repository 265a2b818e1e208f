"""infra/scripts/check_packages.py, the check `make package` runs on the zips it built:
tested on ELF files built up here (machine and glibc needs chosen), and on a real one,
this interpreter's own executable, so the ELF reading is checked against a real linker's
output too. `make package` itself is not part of `make test` (a release cross-build of
fifteen functions takes many minutes).
"""

from __future__ import annotations

import contextlib
import io
import struct
import sys
import tempfile
import unittest
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import check_packages  # noqa: E402

AARCH64, X86_64 = 183, 62


def elf(machine: int = AARCH64, needs: list[str] | None = None, interp: bool = True) -> bytes:
    """A minimal ELF64 LE executable: a PT_INTERP header when `interp`, and a
    .gnu.version_r section needing `needs` (default GLIBC_2.17, GLIBC_2.28) of libc.so.6."""
    needs = ["GLIBC_2.17", "GLIBC_2.28"] if needs is None else needs
    strtab = b"\0libc.so.6\0"
    offsets = []
    for n in needs:
        offsets.append(len(strtab))
        strtab += n.encode() + b"\0"
    verneed = b""
    if needs:
        verneed = struct.pack("<HHIII", 1, len(needs), 1, 16, 0)
        for i, off in enumerate(offsets):
            last = i == len(needs) - 1
            verneed += struct.pack("<IHHII", 0, 0, 2 + i, off, 0 if last else 16)
    phnum = 1 if interp else 0
    ph_off = 64
    str_off = ph_off + 56 * phnum
    ver_off = str_off + len(strtab)
    sh_off = ver_off + len(verneed)
    sections = [
        struct.pack("<IIQQQQIIQQ", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0),
        struct.pack("<IIQQQQIIQQ", 0, 3, 0, 0, str_off, len(strtab), 0, 0, 1, 0),
    ]
    if needs:
        sections.append(
            struct.pack(
                "<IIQQQQIIQQ", 0, check_packages.SHT_GNU_VERNEED, 0, 0, ver_off, len(verneed), 1, 1, 8, 0
            )
        )
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    header = ident + struct.pack(
        "<HHIQQQIHHHHHH", 2, machine, 1, 0, ph_off if interp else 0, sh_off, 0, 64, 56, phnum, 64, len(sections), 0
    )
    phdrs = struct.pack("<IIQQQQQQ", 3, 4, 0, 0, 0, 0, 0, 1) if interp else b""
    return header + phdrs + strtab + verneed + b"".join(sections)


def write_zip(path: Path, data: bytes, name: str = "bootstrap", mode: int = 0o755) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        info = zipfile.ZipInfo(name)
        info.external_attr = (0o100000 | mode) << 16
        z.writestr(info, data)
    path.write_bytes(buf.getvalue())


class ElfReading(unittest.TestCase):
    def test_machine_and_glibc_versions_are_read(self) -> None:
        facts = check_packages.elf_facts(elf(needs=["GLIBC_2.17", "GLIBC_2.28", "GLIBC_PRIVATE"]))
        self.assertEqual(facts.machine, "aarch64")
        self.assertEqual(facts.glibc, [(2, 17), (2, 28)])
        self.assertTrue(facts.dynamic)

    def test_a_real_executable_is_read(self) -> None:
        data = Path(sys.executable).resolve().read_bytes()
        facts = check_packages.elf_facts(data)
        self.assertIn(facts.machine, ("x86_64", "aarch64"))
        self.assertTrue(facts.dynamic)
        self.assertTrue(facts.glibc, "a dynamically linked interpreter needs glibc versions")
        self.assertTrue(all(v[0] == 2 for v in facts.glibc))

    def test_not_an_elf_is_refused(self) -> None:
        with self.assertRaises(check_packages.NotElf):
            check_packages.elf_facts(b"#!/bin/sh\necho hi\n")


class Packages(unittest.TestCase):
    def check(self, data: bytes | None, **kw) -> list[str]:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "lambda" / "poll" / "bootstrap.zip"
            if data is not None:
                write_zip(path, data, **kw)
            problems, _ = check_packages.check_zip(path, "aarch64")
        return problems

    def assertProblem(self, problems: list[str], fragment: str) -> None:
        self.assertTrue(any(fragment in p for p in problems), f"{fragment!r} not in {problems}")

    def test_an_arm64_bootstrap_for_glibc_2_34_passes(self) -> None:
        self.assertEqual(self.check(elf(needs=["GLIBC_2.17", "GLIBC_2.34"])), [])

    def test_a_newer_glibc_is_caught(self) -> None:
        self.assertProblem(self.check(elf(needs=["GLIBC_2.17", "GLIBC_2.35"])), "needs GLIBC_2.35")

    def test_the_wrong_architecture_is_caught(self) -> None:
        self.assertProblem(self.check(elf(machine=X86_64)), "built for x86_64, not aarch64")

    def test_a_missing_zip_is_caught(self) -> None:
        self.assertProblem(self.check(None), "missing")

    def test_a_zip_without_bootstrap_is_caught(self) -> None:
        self.assertProblem(self.check(elf(), name="poll"), "no bootstrap")

    def test_a_bootstrap_that_cannot_run_is_caught(self) -> None:
        self.assertProblem(self.check(elf(), mode=0o644), "not executable")

    def test_a_dynamic_binary_naming_no_glibc_version_is_caught(self) -> None:
        self.assertProblem(self.check(elf(needs=[])), "names no glibc version")

    def test_main_fails_on_any_problem(self) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            write_zip(Path(tmp) / "lambda" / "poll" / "bootstrap.zip", elf())
            write_zip(Path(tmp) / "lambda" / "erase" / "bootstrap.zip", elf(needs=["GLIBC_2.39"]))
            args = ["--target-dir", tmp]
            out = io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
                self.assertEqual(check_packages.main(args + ["poll"]), 0)
                self.assertEqual(check_packages.main(args + ["poll", "erase"]), 1)
                self.assertEqual(check_packages.main(args + ["poll", "intake"]), 1)
            self.assertIn("needs GLIBC_2.39", out.getvalue())
            self.assertIn("intake/bootstrap.zip: missing", out.getvalue())


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""Seeds the fuzz corpora from tests/fixtures/bad-tickets (format in its README).

fuzz/corpus/ticket_validate/: the bytes of every case (huge generated ones left out:
libFuzzer's inputs are small). fuzz/corpus/identifiers/: every phone number, e-mail
address, name and Genesys id of the cases, as the identifiers target reads them: a
region selector byte (0: none, 1: IE), then the text.
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "fixtures" / "bad-tickets"
OUT = ROOT / "fuzz" / "corpus"
MAX_SEED = 64 * 1024


def case_bytes(case):
    if "input" in case:
        return json.dumps(case["input"], ensure_ascii=False).encode()
    if "inputText" in case:
        return case["inputText"].encode()
    if "inputHex" in case:
        return bytes.fromhex("".join(case["inputHex"].split()))
    r = case["inputRepeat"]
    size = len(r["prefix"]) + len(r["repeat"]) * r["times"] + len(r["suffix"])
    if size > MAX_SEED:
        return None
    return (r["prefix"] + r["repeat"] * r["times"] + r["suffix"]).encode()


def identifiers(doc):
    subject = doc.get("subject") if isinstance(doc, dict) else None
    if not isinstance(subject, dict):
        return
    for key in ("name", "genesysUserId", "externalContactId"):
        if isinstance(subject.get(key), str):
            yield subject[key]
    for e in subject.get("emails") or [] if isinstance(subject.get("emails"), list) else []:
        if isinstance(e, str):
            yield e
    phones = subject.get("phones")
    for p in phones if isinstance(phones, list) else []:
        if isinstance(p, dict) and isinstance(p.get("number"), str):
            yield p["number"]


def main():
    tickets = OUT / "ticket_validate"
    idents = OUT / "identifiers"
    tickets.mkdir(parents=True, exist_ok=True)
    idents.mkdir(parents=True, exist_ok=True)
    n_tickets = n_idents = 0
    for path in sorted(CASES.glob("*/*.json")):
        case = json.loads(path.read_text())
        data = case_bytes(case)
        if data is None:
            continue
        (tickets / f"seed-{path.parent.name}-{path.stem}").write_bytes(data)
        n_tickets += 1
        if "input" in case:
            for i, text in enumerate(identifiers(case["input"])):
                for region in (0, 1):
                    name = f"seed-{path.parent.name}-{path.stem}-{i}-{region}"
                    (idents / name).write_bytes(bytes([region]) + text.encode())
                    n_idents += 1
    print(f"seeded {n_tickets} tickets and {n_idents} identifiers", file=sys.stderr)


if __name__ == "__main__":
    main()

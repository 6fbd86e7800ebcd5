#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The API reference check: runs Doxygen on the configured Doxyfile into a fresh folder, fails on
any warning, then reads the XML index and fails unless every public header under
include/starbucks/ (all but detail/ folders) has a file page with a description.

usage: check_docs.py DOXYGEN DOXYFILE OUTPUT_DIR INCLUDE_DIR
"""
import pathlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET


def public_headers(include_dir):
    root = include_dir / "starbucks"
    return sorted(p.resolve() for p in root.rglob("*.hpp") if "detail" not in p.relative_to(root).parts)


def documented_files(xml_dir, include_dir):
    """Maps each header's absolute path to the text of its file description (STRIP_FROM_PATH
    leaves paths relative to include/)."""
    out = {}
    for compound in ET.parse(xml_dir / "index.xml").getroot().iter("compound"):
        if compound.get("kind") != "file":
            continue
        page = ET.parse(xml_dir / f"{compound.get('refid')}.xml").getroot().find("compounddef")
        location = page.find("location")
        if location is None:
            continue
        words = []
        for tag in ("briefdescription", "detaileddescription"):
            node = page.find(tag)
            if node is not None:
                words += "".join(node.itertext()).split()
        out[(include_dir / location.get("file")).resolve()] = " ".join(words)
    return out


def main(doxygen, doxyfile, output_dir, include_dir):
    output_dir, include_dir = pathlib.Path(output_dir), pathlib.Path(include_dir)
    shutil.rmtree(output_dir, ignore_errors=True)
    output_dir.mkdir(parents=True)
    run = subprocess.run([doxygen, doxyfile], capture_output=True, text=True)
    log = output_dir / "warnings.log"
    warnings = log.read_text().strip() if log.exists() else ""
    if run.returncode != 0 or warnings:
        print(warnings or run.stderr or run.stdout)
        print(f"docs: doxygen exited {run.returncode} with {len(warnings.splitlines())} warning line(s)")
        return 1

    headers = public_headers(include_dir)
    docs = documented_files(output_dir / "xml", include_dir)
    missing = [h for h in headers if h not in docs]
    undescribed = [h for h in headers if h in docs and not docs[h]]
    for h in missing:
        print(f"docs: {h} has no page in the API reference")
    for h in undescribed:
        print(f"docs: {h} has no description (its opening comment: SPDX line, then one sentence)")
    if missing or undescribed or not headers:
        return 1
    print(f"docs: {len(headers)} public headers, each with a described page; no doxygen warning")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))

#!/usr/bin/env python3
"""junit-merge.py OUT SHARDS FILE... - merges the JUnit reports of a sharded
sweep (one per machine, `sim --shard K/N --junit FILE`) into one OUT with
the totals summed, prints them, and exits 1 when a shard's report is
missing (fewer than SHARDS files), or any run failed or errored. Python 3
standard library only."""
import sys
import xml.etree.ElementTree as ET


def main():
    if len(sys.argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    out, shards, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    merged = ET.Element("testsuites", name="sim")
    totals = {"tests": 0, "failures": 0, "errors": 0}
    time = 0.0
    for path in files:
        root = ET.parse(path).getroot()
        for key in totals:
            totals[key] += int(root.get(key, "0"))
        time += float(root.get("time", "0"))
        merged.extend(root.findall("testsuite"))
    for key, value in totals.items():
        merged.set(key, str(value))
    merged.set("time", "%.6f" % time)
    ET.ElementTree(merged).write(out, encoding="UTF-8", xml_declaration=True)
    print("junit-merge: %d of %d shard reports, %d runs, %d failures, %d errors -> %s"
          % (len(files), shards, totals["tests"], totals["failures"], totals["errors"], out))
    if len(files) < shards:
        print("junit-merge: a shard's report is missing", file=sys.stderr)
        return 1
    return 1 if totals["failures"] or totals["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())

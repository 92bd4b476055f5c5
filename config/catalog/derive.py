#!/usr/bin/env python3
"""Derive the tamatch catalogue (this folder) from the reference snapshot.

Usage: python3 config/catalog/derive.py /work/shared/reference config/catalog

Re-running it on the same snapshot gives byte-identical files; README.md says
where each input comes from and under which terms. Checks every join and stops
on the first disagreement rather than writing a half-true catalogue.
"""
import csv
import os
import re
import shutil
import sys


def rows(path, encoding="utf-8"):
    with open(path, encoding=encoding, newline="") as f:
        return list(csv.DictReader(f))


def write(path, header, data):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(data)


def main(src, dst):
    overview = rows(os.path.join(src, "m49_overview.csv"), "utf-8-sig")
    states = rows(os.path.join(src, "un_member_states_regional_groups.csv"))

    # M49 areas: every region, sub-region and intermediate region UNSD lists.
    areas = {}
    for r in overview:
        for kind, code, name in (("region", r["Region Code"], r["Region Name"]),
                                 ("subregion", r["Sub-region Code"], r["Sub-region Name"]),
                                 ("intermediate", r["Intermediate Region Code"],
                                  r["Intermediate Region Name"])):
            if not code:
                continue
            old = areas.setdefault(int(code), (name, kind))
            if old != (name, kind):
                sys.exit(f"area {code}: {old} vs {(name, kind)}")
    write(os.path.join(dst, "areas.csv"), ["m49", "name", "kind"],
          [[c, n, k] for c, (n, k) in sorted(areas.items())])

    by_m49 = {int(r["M49 Code"]): r for r in overview}
    groups = {}
    out = []
    for s in states:
        o = by_m49.get(int(s["m49"]))
        if o is None:
            sys.exit(f"{s['iso3']}: M49 {s['m49']} not in m49_overview.csv")
        checks = [("iso2", s["iso2"], o["ISO-alpha2 Code"]),
                  ("iso3", s["iso3"], o["ISO-alpha3 Code"]),
                  ("name", s["name"], o["Country or Area"]),
                  ("region", s["m49_region"], o["Region Name"]),
                  ("subregion", s["m49_subregion"], o["Sub-region Name"]),
                  ("intermediate", s["m49_intermediate_region"], o["Intermediate Region Name"]),
                  ("ldc", s["ldc"] == "1", o["Least Developed Countries (LDC)"] == "x"),
                  ("lldc", s["lldc"] == "1", o["Land Locked Developing Countries (LLDC)"] == "x"),
                  ("sids", s["sids"] == "1", o["Small Island Developing States (SIDS)"] == "x")]
        for what, a, b in checks:
            if a != b:
                sys.exit(f"{s['iso3']}: {what} {a!r} vs M49 {b!r}")
        g = s["un_regional_group"]
        if groups.setdefault(g, s["un_regional_group_name"]) != s["un_regional_group_name"]:
            sys.exit(f"group {g}: two names")
        out.append([s["iso3"], s["iso2"], s["m49"], s["name"], g,
                    o["Region Code"], o["Region Name"],
                    o["Sub-region Code"], o["Sub-region Name"],
                    o["Intermediate Region Code"], o["Intermediate Region Name"],
                    s["ldc"], s["lldc"], s["sids"], s["note"]])
    out.sort(key=lambda r: r[0])
    write(os.path.join(dst, "countries.csv"),
          ["iso3", "iso2", "m49", "name", "group", "region", "region_name",
           "subregion", "subregion_name", "intermediate", "intermediate_name",
           "ldc", "lldc", "sids", "note"], out)
    write(os.path.join(dst, "groups.csv"), ["code", "name"], sorted(groups.items()))

    for name in ("categories.csv", "standards.csv", "modalities.csv"):
        shutil.copyfile(os.path.join(src, name), os.path.join(dst, name))

    dac = rows(os.path.join(src, "dac_crs_purpose_codes_justice_security.csv"))
    write(os.path.join(dst, "dac_purpose_codes.csv"),
          ["code", "name", "status", "category_code", "category_name"],
          [[r["code"], r["name"], r["status"], r["category_code"], r["category_name"]]
           for r in dac])

    chans = []
    for r in rows(os.path.join(src, "crs_channel_codes_un_justice_security.csv")):
        m = re.fullmatch(r"(\S+)(?: \((.*)\))?", r["iati_org_id_by_convention"])
        chans.append([r["crs_channel_code"], m.group(1), r["name"], r["status"],
                      r["category"], m.group(2) or ""])
    write(os.path.join(dst, "crs_channels.csv"),
          ["code", "iati_org_id", "name", "status", "category", "note"], chans)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])

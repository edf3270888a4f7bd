# Prints, as JSON, what swcli's venv mode needs to know about the environment
# of the interpreter running it: exact Python version, platform, ABI, the
# site-packages folders, and every distribution installed in the environment
# (not in the base interpreter). Works on Python 3.6 to 3.13. It runs after
# sdk/pyenv.ABITagPython, which defines abi_tag().
import json
import os
import re
import sys
import sysconfig


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


# abi_tag() comes first, from sdk/pyenv.ABITagPython (lock.go).


def under(path, root):
    path = os.path.realpath(path)
    root = os.path.realpath(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def site_dirs():
    paths = sysconfig.get_paths()
    out = []
    for key in ("purelib", "platlib"):
        p = paths.get(key)
        if p and p not in out:
            out.append(p)
    return out


def search_path(sites):
    # The env's site-packages plus folders that .pth files in it added
    # (editable installs); never the base interpreter's folders.
    out = list(sites)
    for p in sys.path:
        if not p or p in out or not os.path.isdir(p):
            continue
        if under(p, sys.base_prefix) and not under(p, sys.prefix):
            continue
        out.append(p)
    return out


def read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except Exception:
        return None


def egg_linked(sites, name):
    cn = canonical(name)
    for site in sites:
        try:
            entries = os.listdir(site)
        except OSError:
            continue
        for e in entries:
            if e.endswith(".egg-link") and canonical(e[: -len(".egg-link")]) == cn:
                try:
                    with open(os.path.join(site, e)) as f:
                        return f.readline().strip() or True
                except OSError:
                    return True
            if e.startswith("__editable__.") and e.endswith(".pth"):
                base = e[len("__editable__."):-len(".pth")]
                if canonical(base.rsplit("-", 1)[0]) == cn:
                    return True
    return False


def dists_importlib(paths):
    import importlib.metadata as md

    out = []
    for d in md.distributions(path=paths):
        name = d.metadata["Name"]
        if not name:
            continue
        loc = getattr(d, "_path", None)
        direct = None
        try:
            text = d.read_text("direct_url.json")
            if text:
                direct = json.loads(text)
        except Exception:
            direct = None
        out.append((name, d.version, str(loc) if loc else "", direct))
    return out


def dists_pkg_resources(paths):
    import pkg_resources

    out = []
    for p in paths:
        for d in pkg_resources.find_distributions(p):
            loc = getattr(d, "egg_info", None) or ""
            direct = None
            if loc:
                direct = read_json(os.path.join(loc, "direct_url.json"))
            out.append((d.project_name, d.version, loc, direct))
    return out


def main():
    sites = site_dirs()
    paths = search_path(sites)
    try:
        raw = dists_importlib(paths)
    except ImportError:
        raw = dists_pkg_resources(paths)
    seen = set()
    dists = []
    for name, version, loc, direct in raw:
        cn = canonical(name)
        if cn in seen:  # first on the path wins, as for imports
            continue
        seen.add(cn)
        editable = False
        editable_dir = ""
        if isinstance(direct, dict):
            editable = bool((direct.get("dir_info") or {}).get("editable"))
        if not editable:
            linked = egg_linked(sites, name)
            editable = bool(linked)
            if isinstance(linked, str):
                editable_dir = linked
        dists.append({
            "name": cn,
            "version": version,
            "location": loc,
            "editable": editable,
            "editable_dir": editable_dir,
            "direct_url": direct,
        })
    dists.sort(key=lambda d: d["name"])
    print(json.dumps({
        "python": "%d.%d.%d" % sys.version_info[:3],
        "platform": sysconfig.get_platform(),
        "abi": abi_tag(),
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "site_dirs": sites,
        "dists": dists,
    }, sort_keys=True))


main()

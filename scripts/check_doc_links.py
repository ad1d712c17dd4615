#!/usr/bin/env python3
"""Every relative link and image in README.md and docs/*.md resolves: the file
exists and, for #anchors into Markdown, the heading does (GitHub's slugs).
Exit 1 naming each broken link. Usage: scripts/check_doc_links.py [REPO]"""
import re
import sys
from pathlib import Path

root = Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent)
pages = [root / "README.md"] + sorted((root / "docs").glob("*.md"))
link = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def slugs(md: Path):
    out, fence = set(), False
    for line in md.read_text(encoding="utf-8").splitlines():
        if line.startswith("```"):
            fence = not fence
        if fence or not line.startswith("#"):
            continue
        text = line.lstrip("#").strip().lower()
        text = re.sub(r"[^\w\- ]", "", text)
        out.add(text.replace(" ", "-"))
    return out


broken = []
for page in pages:
    text = page.read_text(encoding="utf-8")
    text = re.sub(r"```.*?```", "", text, flags=re.S)  # code blocks are not links
    for target in link.findall(text):
        if re.match(r"^[a-z]+:", target):
            continue  # http:, https:, mailto:
        path, _, anchor = target.partition("#")
        dest = (page.parent / path).resolve() if path else page
        if not dest.exists():
            broken.append(f"{page.relative_to(root)}: {target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in slugs(dest):
            broken.append(f"{page.relative_to(root)}: {target}: no such heading")
for b in broken:
    print(b)
print(f"{len(pages)} pages checked, {len(broken)} broken links")
sys.exit(1 if broken else 0)

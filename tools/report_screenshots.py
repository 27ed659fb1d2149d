"""Screenshots of a study report for the docs: its top and one dataset section, as
headless Chromium draws them at 1,400 px (docs/images/report-top.png, report-section.png).

    crossalign demo --out /tmp/demo
    python tools/report_screenshots.py /tmp/demo/report.html [--section castaldi2019]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 1400

OFFSETS = """<script>
window.addEventListener("load", function () {
  var out = {height: document.documentElement.scrollHeight, sections: {}};
  document.querySelectorAll("section").forEach(function (s) {
    var r = s.getBoundingClientRect();
    out.sections[s.id] = [r.top + window.scrollY, r.height];
  });
  var pre = document.createElement("pre"); pre.id = "offsets";
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
});
</script>"""


def _chromium(args: list[str], profile: Path) -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium is not installed (apt-get install -y chromium)")
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        "--virtual-time-budget=5000",
    ]
    return subprocess.run(
        [browser, *flags, *args], capture_output=True, text=True, timeout=300
    ).stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("report", type=Path)
    parser.add_argument("--section", default="castaldi2019", help="dataset of the section")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "page.html"
        page.write_text(args.report.read_text().replace("</body>", OFFSETS + "</body>"))
        dom = _chromium(
            [f"--window-size={WIDTH},1000", "--dump-dom", page.as_uri()], Path(tmp) / "p1"
        )
        found = re.search(r'<pre id="offsets">(.*?)</pre>', dom, re.S)
        if not found:
            raise SystemExit("the page did not report its layout")
        layout = json.loads(found.group(1).replace("&quot;", '"'))
        shot = Path(tmp) / "full.png"
        _chromium(
            [
                f"--window-size={WIDTH},{layout['height']}",
                f"--screenshot={shot}",
                args.report.resolve().as_uri(),
            ],
            Path(tmp) / "p2",
        )
        full = Image.open(shot).convert("RGB")
        section = next(k for k in layout["sections"] if k.startswith(f"section-{args.section}"))
        top, height = layout["sections"][section]
        crops = {
            "report-top.png": (0, 0, WIDTH, min(1900, full.height)),
            "report-section.png": (0, int(top), WIDTH, int(top + min(height, 2600))),
        }
        args.out.mkdir(parents=True, exist_ok=True)
        for name, box in crops.items():
            image = full.crop(box)
            image = image.resize((image.width * 2 // 3, image.height * 2 // 3), Image.LANCZOS)
            image.quantize(colors=256).save(args.out / name, optimize=True)
            print(args.out / name, image.size)


if __name__ == "__main__":
    main()

"""Which PDF reader: pypdf, pdfminer.six and pypdfium2 on a 100-page PDF and on hostile ones.

`python -m bench.pdf_readers` makes the PDFs (tests/samples.py), then reads each with each
library in a child process of its own (30 s and 1 GiB at most), and prints one line per
library and file: the seconds, the characters read, and how it ended. The figures chose
pypdfium2 for app/files/documents.py.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests import samples

LIBRARIES = ("pypdfium2", "pypdf", "pdfminer.six")
SECONDS = 30
MEMORY_BYTES = 1 << 30

_READ = {
    "pypdfium2": """
import pypdfium2
document = pypdfium2.PdfDocument(path)
text = []
for page in document:
    textpage = page.get_textpage()
    text.append(textpage.get_text_range())
    textpage.close()
    page.close()
""",
    "pypdf": """
import pypdf
reader = pypdf.PdfReader(path)
text = [page.extract_text() for page in reader.pages]
""",
    "pdfminer.six": """
from pdfminer.high_level import extract_text
text = [extract_text(path)]
""",
}

_CHILD = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({memory}, {memory}))
path = sys.argv[1]
{read}
print(json.dumps(sum(len(part) for part in text)))
"""


def book(pages: int = 100) -> bytes:
    """A PDF of `pages` pages of ordinary prose, compressed as writers usually do."""
    line = "The quick brown fox jumps over the lazy dog, and the report goes on about it."
    return samples.pdf([f"Page {n + 1}\n" + "\n".join([line] * 40) for n in range(pages)], compress=True)


def measure(library: str, path: Path) -> tuple[float, str]:
    """Seconds taken and how the read ended, in a child of its own."""
    code = _CHILD.format(memory=MEMORY_BYTES, read=_READ[library])
    started = time.perf_counter()
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=SECONDS
        )
    except subprocess.TimeoutExpired:
        return time.perf_counter() - started, f"still reading after {SECONDS} s (killed)"
    took = time.perf_counter() - started
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["died"])[-1]
        return took, f"failed: {last[:90]}"
    return took, f"{json.loads(done.stdout):,} characters"


def main() -> None:
    files = {
        "100 pages": book(),
        "encrypted": samples.pdf_encrypted(),
        "malformed": samples.pdf_malformed(),
        "truncated": book(3)[:400],
        "page loop": samples.pdf_page_loop(),
        "inflating stream": samples.pdf_stream_bomb(),
    }
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    with tempfile.TemporaryDirectory() as folder:
        for library in LIBRARIES:
            for name, data in files.items():
                path = Path(folder) / f"{name}.pdf"
                path.write_bytes(data)
                took, ended = measure(library, path)
                print(f"{library:13} {name:17} {took:7.3f} s  {ended}", flush=True)


if __name__ == "__main__":
    main()

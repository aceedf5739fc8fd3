"""The README's main command, run exactly as written: `intrinsix generate "<prompt>" --out <dir>`
with no --model, so the bundled demo model (generator/demo_model/) generates the texture set.

The command is the `intrinsix generate ...` part of the shell block that follows the
`<!-- main-command -->` marker in README.md (the install part before it is what the test
environment already did). It runs in a fresh working folder, through `python -m intrinsix.cli.main`
(the `intrinsix` console script's entry point) with $INTRINSIX_MODEL unset.
"""

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

from PIL import Image

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- main-command -->"


def main_command() -> list[str]:
    """argv of the README's main `intrinsix generate` command."""
    text = README.read_text(encoding="utf-8")
    assert MARKER in text, f"README.md has no {MARKER} block (the main command: install, then intrinsix generate)"
    block = re.search(re.escape(MARKER) + r"\s*```[a-z]*\n(.*?)```", text, re.S)
    assert block, f"the {MARKER} marker must be followed by a fenced code block"
    script = block.group(1).replace("\\\n", " ")
    commands = [c.strip() for line in script.splitlines() for c in re.split(r"&&|;", line) if c.strip()]
    generate = [c for c in commands if c.startswith("intrinsix generate")]
    assert len(generate) == 1, f"expected one 'intrinsix generate' command in the {MARKER} block, got {generate}"
    return shlex.split(generate[0])


def test_readme_main_command_generates_with_the_bundled_model(tmp_path):
    argv = main_command()
    assert "--model" not in argv and "--lora" not in argv, "the main command must use the bundled demo model"
    out = Path(argv[argv.index("--out") + 1])
    env = {k: v for k, v in os.environ.items() if k != "INTRINSIX_MODEL"}
    result = subprocess.run([sys.executable, "-m", "intrinsix.cli.main", *argv[1:]], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    folder = out if out.is_absolute() else tmp_path / out
    manifest = json.loads((folder / "material.json").read_text())
    assert manifest["metadata"]["model"].endswith("demo_model")
    assert manifest["resolution"] == {"width": 256, "height": 256}  # the demo model's default size
    semantics = {f["semantic"] for f in manifest["files"]}
    assert "preview" in semantics and semantics - {"preview", "manifest"}, semantics  # maps (or a .glb holding them)
    for entry in manifest["files"]:
        path = folder / entry["name"]
        assert path.stat().st_size == entry["bytes"], entry["name"]
    preview = Image.open(folder / "preview.png")
    assert preview.size == (256, 256)
    pixels = preview.convert("RGB").getextrema()
    assert any(high - low > 10 for low, high in pixels), "the preview is a flat image"

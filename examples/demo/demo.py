"""Shows where each part of the environment comes from."""
import os
import shutil
import subprocess

import six
from rich.console import Console

console = Console()
console.print(f"[bold]{os.environ['DEMO_GREETING']}[/bold]")
console.print(f"six (from Nix):        {six.__file__}")
console.print(f"rich (from the pip layer): {Console.__module__} in {os.environ.get('NIXPY_LAYER')}")
for tool in ("hello", "jq", "sox"):
    path = shutil.which(tool)
    console.print(f"{tool:5} -> {path}")
console.print(subprocess.run(["hello"], capture_output=True, text=True).stdout.strip())

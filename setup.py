"""Bundle the example study into the package.

The repository keeps the PRECIOUS study folder at its top level (``specs/``), where a
reader looks for it; an installed trialflow needs it as package data. This build step
copies it to ``trialflow/examples/precious`` in the build tree (never in the source
tree), so a wheel and a plain ``pip install .`` carry it. Everything else is in
pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithExample(build_py):
    def run(self) -> None:
        # pip builds in the source tree: a module deleted from the repository would stay
        # in an old build/lib and be packaged again. Start from an empty one.
        shutil.rmtree(self.build_lib, ignore_errors=True)
        super().run()
        source = Path(__file__).resolve().parent / "specs"
        target = Path(self.build_lib) / "trialflow" / "examples" / "precious"
        if source.is_dir():
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(source, target)


setup(cmdclass={"build_py": BuildWithExample})

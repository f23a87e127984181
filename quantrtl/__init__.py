"""quantrtl: quantization number formats turned into verified, synthesized hardware."""

from quantrtl.base.provenance import package_version as _package_version

__version__ = _package_version()

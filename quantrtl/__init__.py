"""quantrtl: quantization number formats turned into verified, synthesized hardware."""

__version__ = "0.1.0"

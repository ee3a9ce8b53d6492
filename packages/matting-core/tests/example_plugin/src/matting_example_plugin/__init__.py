"""An example matting plugin: ``example-tiny`` (model) and ``example-l1`` (loss)."""

__version__ = "0.1.0"

"""An example matting plugin: ``example-tiny`` and the trimap-free ``example-free`` (models)
and ``example-l1`` (loss)."""

__version__ = "0.1.0"
